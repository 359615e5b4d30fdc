//! The worker: a named thread that owns training, steered by `Command`s and reporting `Event`s.
//!
//! Metric rows are batched (flushed every few tens of milliseconds, and whenever another kind of event
//! goes out) and progress is coalesced, so the channel never floods. After each flush the waker is
//! called (the app passes `request_repaint`). A panic inside a run becomes that run's `Failed` event.

use crate::analysis::events::GrokEvent;
use crate::config::checkpoints::CheckpointEvery;
use crate::config::{ValidCapacitySweepConfig, ValidRunConfig};
use crate::experiment::grokking::{ContinueSpec, RunEnd, RunOptions, Views};
use crate::experiment::{Control, EventSink, RunControl, capacity, grokking, ordering};
use crate::protocol::{
    CapacityEvent, Command, Event, GrokkingEvent, LabEvent, MetricRow, OrderingEvent, Outcome,
    PausePoint, RunId,
};
use crate::store::run_dir::RunWriter;
use crate::train::insight::{InsightEvery, WINDOW_SHARE};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Wakes the receiver when events are waiting.
pub type Waker = Box<dyn Fn() + Send + Sync>;
/// The waker, shared by the worker and its views' thread.
type SharedWaker = Arc<dyn Fn() + Send + Sync>;

/// Capacity of the event channel. When the UI stops draining (window hidden), training waits.
const EVENT_CAPACITY: usize = 4096;
/// How long metric rows may wait before they are sent.
const FLUSH_EVERY: Duration = Duration::from_millis(30);

/// Owns the training thread. Dropping it stops any run and joins the thread.
pub struct Worker {
    tx: Sender<Command>,
    rx: Receiver<Event>,
    handle: Option<JoinHandle<()>>,
}

impl Worker {
    /// Start the worker thread (named `grokscope-worker`).
    pub fn spawn(waker: Option<Waker>) -> std::io::Result<Worker> {
        Self::spawn_named("grokscope-worker", waker)
    }

    /// Start the worker thread under this name (one worker per lab in the app).
    pub fn spawn_named(name: &str, waker: Option<Waker>) -> std::io::Result<Worker> {
        let (tx, cmd_rx) = crossbeam_channel::unbounded();
        let (ev_tx, rx) = crossbeam_channel::bounded(EVENT_CAPACITY);
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || worker_main(cmd_rx, ev_tx, waker))?;
        Ok(Worker {
            tx,
            rx,
            handle: Some(handle),
        })
    }

    /// Send a command; never blocks.
    pub fn send(&self, cmd: Command) {
        // The worker thread only exits on Shutdown (sent by Drop), so the channel is open while `self` lives.
        let _ = self.tx.send(cmd);
    }

    /// The next event, if one is waiting; never blocks.
    pub fn try_recv(&self) -> Option<Event> {
        self.rx.try_recv().ok()
    }

    /// Wait up to `timeout` for the next event (for the CLI and tests).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        self.rx.recv_timeout(timeout).ok()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.tx.send(Command::Shutdown);
        // Drain events so a worker blocked on a full channel can see the shutdown.
        while let Some(h) = self.handle.as_ref() {
            if h.is_finished() {
                break;
            }
            while self.rx.try_recv().is_ok() {}
            std::thread::sleep(Duration::from_millis(1));
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Batches events for the channel and wakes the receiver.
struct ChannelSink {
    tx: Sender<Event>,
    waker: Option<SharedWaker>,
    rows: Vec<MetricRow>,
    rows_run: RunId,
    progress: Option<Event>,
    /// Pending `Snapshot` events, oldest first.
    snapshots: Vec<Event>,
    last_flush: Instant,
    /// The run of the last `Finished` sent, so a panic after it is not reported twice.
    finished: Option<RunId>,
    /// The receiver is gone: stop sending.
    closed: bool,
    /// What the run being sent has reported so far (for [`Command::PauseAt`]).
    reported: Reported,
}

/// What a run has reported: the furthest step of its rows and snapshots, and its milestones.
#[derive(Default)]
struct Reported {
    run: RunId,
    step: Option<u64>,
    events: Vec<GrokEvent>,
}

impl Reported {
    /// Note what `ev` reports (another run's first event starts afresh).
    fn note(&mut self, ev: &Event) {
        let (run, step, event) = match ev {
            Event::Metrics { run, rows } => (*run, rows.iter().map(|r| r.step).max(), None),
            Event::Lab {
                run,
                payload: LabEvent::Ordering(OrderingEvent::Snapshot(s)),
            } => (*run, Some(s.step), None),
            Event::Lab {
                run,
                payload: LabEvent::Grokking(GrokkingEvent::Detected { event, step, .. }),
            } => (*run, Some(*step), Some(*event)),
            _ => return,
        };
        if run != self.run {
            *self = Reported {
                run,
                ..Reported::default()
            };
        }
        self.step = self.step.max(step);
        self.events.extend(event);
    }

    /// Whether run `run` has reached `at`.
    fn reached(&self, run: RunId, at: PausePoint) -> bool {
        self.run == run
            && match at {
                PausePoint::Step(n) => self.step.is_some_and(|s| s >= n),
                PausePoint::Event(e) => self.events.contains(&e),
            }
    }
}

impl ChannelSink {
    fn new(tx: Sender<Event>, waker: Option<SharedWaker>) -> Self {
        ChannelSink {
            tx,
            waker,
            rows: vec![],
            rows_run: 0,
            progress: None,
            snapshots: vec![],
            last_flush: Instant::now(),
            finished: None,
            closed: false,
            reported: Reported::default(),
        }
    }

    fn send(&mut self, ev: Event) {
        if !self.closed && self.tx.send(ev).is_err() {
            self.closed = true;
        }
    }

    /// Send the pending rows and progress, in that order.
    fn send_pending(&mut self) {
        if !self.rows.is_empty() {
            let rows = std::mem::take(&mut self.rows);
            self.send(Event::Metrics {
                run: self.rows_run,
                rows,
            });
        }
        for s in std::mem::take(&mut self.snapshots) {
            self.send(s);
        }
        if let Some(p) = self.progress.take() {
            self.send(p);
        }
    }

    fn wake(&mut self) {
        self.last_flush = Instant::now();
        if let Some(w) = &self.waker {
            w();
        }
    }

    fn flush(&mut self) {
        self.send_pending();
        self.wake();
    }

    fn maybe_flush(&mut self) {
        if self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush();
        }
    }
}

impl EventSink for ChannelSink {
    fn emit(&mut self, ev: Event) {
        self.reported.note(&ev);
        match ev {
            Event::Metrics { run, rows } => {
                if run != self.rows_run && !self.rows.is_empty() {
                    self.flush();
                }
                self.rows_run = run;
                self.rows.extend(rows);
                self.maybe_flush();
            }
            Event::Progress { .. } => {
                self.progress = Some(ev);
                self.maybe_flush();
            }
            Event::Lab {
                payload: LabEvent::Ordering(OrderingEvent::Snapshot(_)),
                ..
            } => {
                // batched like rows: the runner already throttles them, and the UI keeps every one
                // for scrubbing back through the run
                self.snapshots.push(ev);
                self.maybe_flush();
            }
            Event::Finished { run, .. } => {
                self.flush_rows_then(ev);
                self.finished = Some(run);
            }
            Event::Started { .. }
            | Event::Changed { .. }
            | Event::Paused { .. }
            | Event::Saved { .. }
            | Event::Refused { .. }
            | Event::Note { .. }
            | Event::Lab { .. } => self.flush_rows_then(ev),
        }
    }
}

impl ChannelSink {
    /// Keep order: pending rows go out before this event.
    fn flush_rows_then(&mut self, ev: Event) {
        self.send_pending();
        self.send(ev);
        self.wake();
    }
}

/// The runner's handle on the sink the control also uses (both on the worker thread, never at once).
struct SharedSink(Rc<RefCell<ChannelSink>>);

impl EventSink for SharedSink {
    fn emit(&mut self, ev: Event) {
        self.0.borrow_mut().emit(ev);
    }
}

/// A run the worker is asked to start.
enum Job {
    /// A fresh run of this config.
    Start(Box<ValidRunConfig>),
    /// A fresh Capacity sweep that writes its folder ([`Command::StartSweepInto`]).
    SweepInto(Box<ValidCapacitySweepConfig>, PathBuf),
    /// A saved Grokking run resumed or forked (with TensorBoard event files when the flag is set).
    Continue(Box<ContinueSpec>, bool),
}

/// How late a run under a speed limit may fall and still make the time up with shorter waits.
const CATCH_UP: Duration = Duration::from_millis(250);

/// What the control loop learned from the commands, to act on after the run.
#[derive(Default)]
struct After {
    shutdown: bool,
    next: Option<Job>,
}

/// Steers a run from the command channel: pause, step, speed, changes, stop.
struct WorkerControl<'a> {
    rx: &'a Receiver<Command>,
    sink: Rc<RefCell<ChannelSink>>,
    run: RunId,
    paused: bool,
    /// The runner was told the run is held since it paused (it takes its views of the held state).
    hold_told: bool,
    /// Take one step, then pause.
    step_once: bool,
    /// Pause by itself once the run has reported this ([`Command::PauseAt`]).
    pause_at: Option<PausePoint>,
    speed: Option<f64>,
    /// How often Grokking runs checkpoint ([`Command::SetCheckpoints`]), kept for the next run.
    checkpoints: CheckpointEvery,
    /// When the next step may start under the speed limit.
    next_at: Option<Instant>,
    after: After,
}

impl WorkerControl<'_> {
    /// Apply one command; returns true when the run must stop.
    fn handle(&mut self, cmd: Command, ctl: &mut Control) -> bool {
        match cmd {
            Command::Start(cfg) => {
                self.after.next = Some(Job::Start(cfg));
                true
            }
            Command::Continue { spec, tensorboard } => {
                self.after.next = Some(Job::Continue(spec, tensorboard));
                true
            }
            Command::StartSweepInto { config, dir } => {
                self.after.next = Some(Job::SweepInto(config, dir));
                true
            }
            Command::SaveRun(to) => {
                // Grokking runs start recording there before their next step; other labs ignore it
                ctl.save_to = Some(to);
                false
            }
            Command::Stop => true,
            Command::Shutdown => {
                self.after.shutdown = true;
                true
            }
            Command::Pause => {
                self.set_paused(true);
                false
            }
            Command::Resume => {
                self.step_once = false;
                self.set_paused(false);
                false
            }
            Command::Step => {
                self.step_once = true;
                false
            }
            Command::SetSpeed(s) => {
                self.speed = s.filter(|v| v.is_finite() && *v > 0.0);
                false
            }
            Command::PauseAt(at) => {
                self.pause_at = at;
                false
            }
            Command::SetCheckpoints(every) => {
                self.checkpoints = every;
                ctl.checkpoint_every = Some(every);
                false
            }
            Command::Change(change) => {
                match change.validate() {
                    Ok(()) => ctl.changes.push(change),
                    Err(message) => self.sink.borrow_mut().emit(Event::Refused { message }),
                }
                false
            }
        }
    }

    fn set_paused(&mut self, paused: bool) {
        if self.paused != paused {
            self.paused = paused;
            self.hold_told = false;
            self.sink.borrow_mut().emit(Event::Paused {
                run: self.run,
                paused,
            });
        }
    }

    /// How long to wait before the next step under the speed limit.
    fn throttle_wait(&self) -> Option<Duration> {
        self.speed?;
        let wait = self.next_at?.saturating_duration_since(Instant::now());
        (!wait.is_zero()).then_some(wait)
    }

    /// A step starts now: when the next one may. The steps keep to the speed on average: one that
    /// started late (after a snapshot of the views, say) is made up by shorter waits, up to
    /// [`CATCH_UP`] or one period late (a run held up longer, or just resumed, starts its count afresh).
    fn stepping(&mut self) {
        let now = Instant::now();
        self.next_at = self.speed.map(|speed| {
            let period = Duration::from_secs_f64(1.0 / speed);
            match self.next_at {
                Some(due) if due + period.max(CATCH_UP) > now => due + period,
                _ => now + period,
            }
        });
    }
}

impl RunControl for WorkerControl<'_> {
    fn waiting(&self) -> bool {
        !self.rx.is_empty()
    }

    fn poll(&mut self, _next_step: u64) -> Control {
        let mut ctl = Control::default();
        loop {
            // Commands already waiting.
            loop {
                match self.rx.try_recv() {
                    Ok(cmd) => {
                        if self.handle(cmd, &mut ctl) {
                            ctl.stop = true;
                            return ctl;
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.after.shutdown = true;
                        ctl.stop = true;
                        return ctl;
                    }
                }
            }
            if let Some(at) = self.pause_at
                && self.sink.borrow().reported.reached(self.run, at)
            {
                self.pause_at = None;
                self.set_paused(true);
            }
            if self.paused && (ctl.save_to.is_some() || !self.hold_told) {
                // save now, not when the run goes on, and let the runner show the held state (its
                // insight views at this step): it acts on it and polls again
                self.hold_told = true;
                ctl.hold = true;
                return ctl;
            }
            if self.step_once {
                self.step_once = false;
                self.set_paused(true);
                break;
            }
            let wait = if self.paused {
                self.sink.borrow_mut().flush();
                Some(Duration::from_millis(200))
            } else {
                self.throttle_wait()
            };
            let Some(wait) = wait else { break };
            let waited = Instant::now();
            let got = self.rx.recv_timeout(wait);
            if !self.paused {
                ctl.idle += waited.elapsed();
            }
            match got {
                Ok(cmd) => {
                    if self.handle(cmd, &mut ctl) {
                        ctl.stop = true;
                        return ctl;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    if !self.paused {
                        break;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.after.shutdown = true;
                    ctl.stop = true;
                    return ctl;
                }
            }
        }
        self.stepping();
        ctl
    }
}

/// A finished run's views being filled in on a thread of their own, so that no command waits for a
/// snapshot (at p = 1009 one takes seconds: a new run, a save or closing the window would wait that
/// long). Dropped, it tells the thread to stop after the snapshot in hand (nothing waits for it; what it
/// sends after a new run started is about a run no longer shown, and the window ignores it).
struct Filling {
    stop: Arc<AtomicBool>,
}

impl Filling {
    /// Fill in `views` of `run` until complete (or told to stop), sending into `tx`.
    fn spawn(
        mut views: Views,
        run: RunId,
        tx: Sender<Event>,
        waker: Option<SharedWaker>,
    ) -> std::io::Result<Filling> {
        let stop = Arc::new(AtomicBool::new(false));
        let told = stop.clone();
        std::thread::Builder::new()
            .name("grokscope-views".into())
            .spawn(move || {
                // the training thread's floating-point mode, so the views equal the live ones
                crate::perf::flush_denormals();
                let mut sink = ChannelSink::new(tx, waker);
                let filled = catch_unwind(AssertUnwindSafe(|| {
                    while !told.load(Ordering::Relaxed) && views.fill_one(&mut sink) {}
                }));
                if let Err(panic) = filled {
                    let message = crate::experiment::pool::panic_message(panic.as_ref());
                    sink.emit(Event::Note {
                        run,
                        message: format!(
                            "run {run}: filling in the insight views crashed: {message}"
                        ),
                    });
                }
                sink.flush();
            })?;
        Ok(Filling { stop })
    }
}

impl Drop for Filling {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn worker_main(rx: Receiver<Command>, tx: Sender<Event>, waker: Option<Waker>) {
    crate::perf::flush_denormals();
    let waker: Option<SharedWaker> = waker.map(Arc::from);
    let sink = Rc::new(RefCell::new(ChannelSink::new(tx.clone(), waker.clone())));
    let mut next_run: RunId = 0;
    let mut speed = None;
    let mut checkpoints = CheckpointEvery::default();
    let mut pending: Option<Job> = None;
    // the last Grokking run's recorder (with its checkpoints), kept so a finished run can be saved
    let mut last: Option<(RunId, RunWriter)> = None;
    // the last Grokking run's views, filled in on their own thread until complete (held for its
    // `Drop`, which tells that thread to stop)
    let mut _filling: Option<Filling> = None;
    loop {
        // a run asked for while another ran starts at once; otherwise wait for a command
        let cmd = match pending.take() {
            Some(job) => Ok(job),
            None => match rx.recv() {
                Ok(c) => Err(c),
                Err(_) => return,
            },
        };
        let job = match cmd {
            Ok(job) => job,
            Err(Command::Start(cfg)) => Job::Start(cfg),
            Err(Command::Continue { spec, tensorboard }) => Job::Continue(spec, tensorboard),
            Err(Command::StartSweepInto { config, dir }) => Job::SweepInto(config, dir),
            Err(Command::Shutdown) => return,
            Err(Command::SetSpeed(s)) => {
                speed = s.filter(|v| v.is_finite() && *v > 0.0);
                continue;
            }
            Err(Command::SetCheckpoints(every)) => {
                checkpoints = every;
                continue;
            }
            Err(
                Command::Pause
                | Command::Resume
                | Command::Step
                | Command::Stop
                | Command::PauseAt(_),
            ) => continue,
            Err(Command::Change(change)) => {
                // Nothing is running: the change is still validated so a bad value is reported.
                if let Err(message) = change.validate() {
                    sink.borrow_mut().emit(Event::Refused { message });
                }
                continue;
            }
            Err(Command::SaveRun(to)) => {
                let mut sink = sink.borrow_mut();
                match &mut last {
                    Some((run, w)) => match w.attach_to(&to) {
                        Ok(left_out) => {
                            // the ended run's copy is whole: nothing more is written there
                            w.release_lock();
                            for message in left_out {
                                sink.emit(Event::Note { run: *run, message });
                            }
                            sink.emit(Event::Saved {
                                run: *run,
                                dir: to.dir,
                            })
                        }
                        Err(e) => sink.emit(Event::Refused {
                            message: format!("cannot save into {}: {e}", to.dir.display()),
                        }),
                    },
                    None => sink.emit(Event::Refused {
                        message: "no Grokking run to save yet: start one first".into(),
                    }),
                }
                sink.flush();
                continue;
            }
        };
        next_run += 1;
        let run = next_run;
        // a new run replaces the kept one (its folder, if any, is complete on disk) and its views
        last = None;
        _filling = None;
        let mut control = WorkerControl {
            rx: &rx,
            sink: sink.clone(),
            run,
            paused: false,
            hold_told: false,
            step_once: false,
            pause_at: None,
            speed,
            checkpoints,
            next_at: None,
            after: After::default(),
        };
        let mut shared = SharedSink(sink.clone());
        let result = catch_unwind(AssertUnwindSafe(|| {
            dispatch(job, run, &mut shared, &mut control, checkpoints, speed)
        }));
        speed = control.speed;
        checkpoints = control.checkpoints;
        let after = std::mem::take(&mut control.after);
        let mut sink = sink.borrow_mut();
        match result {
            Ok(Some(end)) => {
                // kept to be saved elsewhere; its own folder (if any) is written no more, and is
                // let go for another process to resume
                last = end.writer.map(|mut w| {
                    w.release_lock();
                    (run, w)
                });
                // after the run's last events: the views' thread sends only what comes after them
                sink.flush();
                if let Some(views) = end.views {
                    match Filling::spawn(views, run, tx.clone(), waker.clone()) {
                        Ok(f) => _filling = Some(f),
                        Err(e) => sink.emit(Event::Note {
                            run,
                            message: format!(
                                "run {run}: the insight views are not filled in (no thread: {e})"
                            ),
                        }),
                    }
                }
            }
            Ok(None) => {}
            Err(panic) => {
                let message = crate::experiment::pool::panic_message(panic.as_ref());
                if sink.finished != Some(run) {
                    sink.emit(Event::Finished {
                        run,
                        outcome: Outcome::Failed {
                            message: format!("the run crashed: {message}"),
                        },
                        summary: None,
                    });
                }
            }
        }
        sink.flush();
        if after.shutdown {
            return;
        }
        pending = after.next;
    }
}

/// A Capacity sweep on this thread, held to the memory limit `limit_bytes`; with `dir`, written into
/// that new (or empty) folder as `grokscope sweep --out` writes one, so that it can be reopened,
/// merged, analysed, or finished by `grokscope sweep` after a stop.
fn sweep(
    c: &ValidCapacitySweepConfig,
    dir: Option<&Path>,
    limit_bytes: u64,
    run: RunId,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
) {
    if let Err(why) = capacity::check_memory(c, limit_bytes) {
        crate::experiment::refuse(run, sink, format!("the sweep: {why}"));
        return;
    }
    let Some(dir) = dir else {
        capacity::run(c, capacity::Tasks::All, run, sink, control);
        return;
    };
    // the window names a new folder; one that holds anything is another's and is left as it is
    if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
        let message = format!(
            "{} is not empty, so the sweep was not started there (nothing in it was touched)",
            dir.display()
        );
        crate::experiment::refuse(run, sink, message);
        return;
    }
    // a data folder that cannot be written (read-only, full) keeps no sweep from running: it runs
    // as before sweeps were saved, in the window only, and says so once it has started
    let failed = crate::store::sweep_dir::begin_folder(dir, c).err().map(|e| {
        format!(
            "the sweep's folder cannot be made ({e}): it runs in the window only; Save sweep as… \
             keeps it once it ends"
        )
    });
    let mut folder = SweepFolderSink {
        dir,
        inner: sink,
        failed: failed.is_some(),
        unsaid: failed,
    };
    capacity::run(c, capacity::Tasks::All, run, &mut folder, control);
}

/// Writes each finished task's result file into the sweep's folder on its way to the window (the
/// store's writer, which `grokscope sweep` uses too). A file that cannot be written is said once,
/// as a `Note` after its result; the sweep goes on and the window still shows every result. A
/// folder that could not be made writes nothing: `unsaid` says so after the sweep's `Started`.
struct SweepFolderSink<'a> {
    dir: &'a Path,
    inner: &'a mut dyn EventSink,
    failed: bool,
    unsaid: Option<String>,
}

impl EventSink for SweepFolderSink<'_> {
    fn emit(&mut self, ev: Event) {
        if let Event::Started { run, .. } = &ev
            && let Some(message) = self.unsaid.take()
        {
            let run = *run;
            self.inner.emit(ev);
            self.inner.emit(Event::Note { run, message });
            return;
        }
        let mut failed = None;
        if let Event::Lab {
            run,
            payload: LabEvent::Capacity(CapacityEvent::SweepResult { result, .. }),
        } = &ev
            && !self.failed
            && let Err(e) = crate::store::sweep_dir::write_result(self.dir, result)
        {
            failed = Some((*run, e));
        }
        self.inner.emit(ev);
        if let Some((run, e)) = failed {
            self.failed = true;
            let message = format!(
                "the sweep's results are no longer written into {} ({e}); the window still \
                 shows them: Save sweep as… writes them elsewhere",
                self.dir.display()
            );
            self.inner.emit(Event::Note { run, message });
        }
    }
}

/// Run one job to its end; a Grokking run hands back its recorder and its views.
fn dispatch(
    job: Job,
    run: RunId,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
    checkpoints: CheckpointEvery,
    speed: Option<f64>,
) -> Option<RunEnd> {
    // Grokking runs, sweeps and studies are held to the memory limit (a malformed
    // GROKSCOPE_MAX_MEMORY_GB refuses them); the Ordering lab's layers are small and bounded by its config
    let limit = match &job {
        Job::Start(cfg)
            if matches!(
                **cfg,
                ValidRunConfig::Ordering(_) | ValidRunConfig::OrderingStudy(_)
            ) =>
        {
            u64::MAX
        }
        _ => match crate::config::memory::memory_limit(None) {
            Ok(limit) => limit,
            Err(message) => {
                crate::experiment::refuse(run, sink, message);
                return None;
            }
        },
    };
    // the window's runs send the insight views' snapshots, within 5 % of the training time
    let mut opts = RunOptions {
        insight: InsightEvery::Budget(WINDOW_SHARE),
        memory_limit: Some(limit),
        checkpoint_every: checkpoints,
        ..RunOptions::default()
    };
    let start = match job {
        Job::SweepInto(c, dir) => {
            sweep(&c, Some(&dir), limit, run, sink, control);
            return None;
        }
        Job::Continue(spec, tensorboard) => {
            opts.tensorboard = tensorboard;
            grokking::Start::Continue(*spec)
        }
        // the config was checked at the edge that sent it (its type says so): started as it is
        Job::Start(cfg) => match *cfg {
            ValidRunConfig::Grokking(valid) => {
                // every window run is recorded in memory (checkpoints too) so it can be saved later
                opts.writer = Some(RunWriter::in_memory(&valid, None));
                grokking::Start::New(valid)
            }
            ValidRunConfig::Ordering(c) => {
                ordering::run(&ordering::Start::Run(c), run, sink, control);
                return None;
            }
            ValidRunConfig::OrderingStudy(c) => {
                ordering::run(&ordering::Start::Study(c), run, sink, control);
                return None;
            }
            ValidRunConfig::CapacitySweep(c) => {
                sweep(&c, None, limit, run, sink, control);
                return None;
            }
            // the window keeps only the results (no run folders)
            ValidRunConfig::PhaseStudy(c) => {
                if let Err(why) = crate::experiment::phase::check_memory(&c, limit) {
                    crate::experiment::refuse(run, sink, format!("the phase study: {why}"));
                    return None;
                }
                // each of its runs held to the speed limit its start came with (a lesson's pace)
                let opts = crate::experiment::phase::PhaseOptions {
                    speed,
                    ..Default::default()
                };
                crate::experiment::phase::run(&c, &opts, run, sink, control);
                return None;
            }
        },
    };
    Some(grokking::run(start, run, sink, control, opts))
}
