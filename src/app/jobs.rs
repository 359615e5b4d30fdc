//! Work the UI thread must not wait for: file dialogs and file writes (and a lab's own reads, through
//! [`Jobs::spawn_worker`]), each on a named thread.
//! Results come back over a bounded channel and wake the UI.

use super::actions::ExportKind;
use super::dialog::FileDialog;
use crate::export::figure::Figure;
use crate::export::png::RgbaPicture;
use crate::export::render::{ExportOptions, ExportedFiles, write_figure};
use crate::store::SeriesTable;
use crossbeam_channel::{Receiver, Sender, bounded};
use eframe::egui::{self, ColorImage, Rect};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// A result of the jobs every part of the window shares (dialogs for exports, writes, figures) coming
/// back to the UI thread. A lab with jobs of its own wraps it in its own answer type (`D` of [`Jobs`]).
#[derive(Debug)]
pub enum JobDone {
    /// The dialog closed with a path, or `None` (cancelled, or no dialog available).
    Chosen {
        kind: ExportKind,
        path: Option<PathBuf>,
    },
    /// The screenshot for a PNG export arrived (the whole window).
    Captured {
        path: PathBuf,
        image: Arc<ColorImage>,
    },
    /// A file was written (or not).
    Written {
        kind: ExportKind,
        path: PathBuf,
        result: Result<(), String>,
    },
    /// A figure export ended.
    Figure(FigureDone),
    /// The Lessons window's file dialog closed with a path, or `None`.
    LessonFile {
        purpose: crate::app::teach::window::FileUse,
        path: Option<PathBuf>,
    },
}

/// How a figure export ended.
#[derive(Debug)]
pub enum FigureDone {
    /// The dialog gave no path (cancelled, or none available): the window offers a typed path.
    NoPath { default_name: String },
    /// The figure and its sidecars were written, or why not.
    Written(Result<ExportedFiles, String>),
}

/// Which kind of job a result came from: a dialog's and a worker's answers count as their job still
/// under way until the UI has taken them (see [`Jobs::dialog_open`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Dialog,
    Worker,
    /// A sender handed out by [`Jobs::sender`] (the screenshot callback): not counted.
    Outside,
}

/// Results sent by dialogs and by workers and not yet taken by [`Jobs::try_recv`].
#[derive(Default)]
struct Queued {
    dialogs: AtomicUsize,
    workers: AtomicUsize,
}

impl Queued {
    fn count(&self, source: Source) -> Option<&AtomicUsize> {
        match source {
            Source::Dialog => Some(&self.dialogs),
            Source::Worker => Some(&self.workers),
            Source::Outside => None,
        }
    }
}

/// Owns the background threads; results (`D`: [`JobDone`], or a lab's own type that wraps it) arrive
/// through [`Jobs::try_recv`].
pub struct Jobs<D = JobDone> {
    tx: Sender<(Source, D)>,
    rx: Receiver<(Source, D)>,
    wake: Arc<dyn Fn() + Send + Sync>,
    queued: Arc<Queued>,
    dialogs: Vec<JoinHandle<()>>,
    writers: Vec<JoinHandle<()>>,
}

impl<D: Send + 'static> Jobs<D> {
    /// `wake` is called after each result is sent (the app passes `request_repaint`).
    pub fn new(wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        let (tx, rx) = bounded(64);
        Self {
            tx,
            rx,
            wake,
            queued: Arc::default(),
            dialogs: Vec::new(),
            writers: Vec::new(),
        }
    }

    /// A sender for results produced elsewhere (the screenshot callback); what it sends is not
    /// counted as a dialog's or a worker's answer.
    pub fn sender(&self) -> JobSender<D> {
        self.sender_for(Source::Outside)
    }

    fn sender_for(&self, source: Source) -> JobSender<D> {
        JobSender {
            tx: self.tx.clone(),
            wake: Arc::clone(&self.wake),
            source,
            queued: Arc::clone(&self.queued),
        }
    }

    /// Whether a dialog is still open, or its answer has not been taken yet (so a button that opens
    /// one stays disabled from the click until the answer is handled, with no frame between).
    pub fn dialog_open(&self) -> bool {
        self.dialogs.iter().any(|h| !h.is_finished())
            || self.queued.dialogs.load(Ordering::SeqCst) > 0
    }

    /// Whether any job's thread is still running (its answer may be queued once it is not).
    #[cfg(test)]
    pub fn threads_alive(&self) -> bool {
        self.dialogs
            .iter()
            .chain(&self.writers)
            .any(|h| !h.is_finished())
    }

    /// Whether a file is being written or read, or a worker's answer has not been taken yet.
    pub fn writing(&self) -> bool {
        self.writers.iter().any(|h| !h.is_finished())
            || self.queued.workers.load(Ordering::SeqCst) > 0
    }

    /// Run `job` on a new thread named `name`, counted as a dialog (the UI shows it is waiting on the
    /// user); it answers through the sender it is given.
    pub fn spawn_dialog(
        &mut self,
        name: &str,
        job: impl FnOnce(JobSender<D>) + Send + 'static,
    ) -> std::io::Result<()> {
        let out = self.sender_for(Source::Dialog);
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || job(out))?;
        self.dialogs.push(handle);
        Ok(())
    }

    /// Run `job` (a read or a write) on a new thread named `name`; it answers through the sender it is
    /// given.
    pub fn spawn_worker(
        &mut self,
        name: &str,
        job: impl FnOnce(JobSender<D>) + Send + 'static,
    ) -> std::io::Result<()> {
        let out = self.sender_for(Source::Worker);
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || job(out))?;
        self.writers.push(handle);
        Ok(())
    }

    /// The next result, if any; also joins threads that have ended.
    pub fn try_recv(&mut self) -> Option<D> {
        reap(&mut self.dialogs);
        reap(&mut self.writers);
        let (source, done) = self.rx.try_recv().ok()?;
        if let Some(count) = self.queued.count(source) {
            count.fetch_sub(1, Ordering::SeqCst);
        }
        Some(done)
    }
}

fn reap(handles: &mut Vec<JoinHandle<()>>) {
    let (done, running): (Vec<_>, Vec<_>) = handles.drain(..).partition(|h| h.is_finished());
    for h in done {
        // A panic in a job thread was already reported as a missing result; nothing more to do.
        let _ = h.join();
    }
    *handles = running;
}

/// The jobs every part of the window shares, answering a [`JobDone`] (which a lab's own answer type
/// wraps).
impl<D: From<JobDone> + Send + 'static> Jobs<D> {
    /// Ask `dialog` for a path on a new thread.
    pub fn choose_path(
        &mut self,
        dialog: Arc<dyn FileDialog>,
        kind: ExportKind,
    ) -> std::io::Result<()> {
        let out = self.sender_for(Source::Dialog);
        let handle = std::thread::Builder::new()
            .name("file-dialog".into())
            .spawn(move || {
                let title = format!("Export {kind}");
                let path = dialog.save(&title, kind.default_name(), kind.ext());
                out.send(JobDone::Chosen { kind, path }.into());
            })?;
        self.dialogs.push(handle);
        Ok(())
    }

    /// Write `table` as CSV to `path` on a new thread.
    pub fn write_csv(&mut self, path: PathBuf, table: SeriesTable) -> std::io::Result<()> {
        self.spawn_writer(ExportKind::Csv, path, move |path| {
            crate::export::csv::write_csv(path, &table).map_err(|e| format!("{e:#}"))
        })
    }

    /// Crop `image` to `rect` (in points) and encode it as PNG into `path`, on a new thread.
    pub fn write_png(
        &mut self,
        path: PathBuf,
        image: Arc<ColorImage>,
        rect: Rect,
        pixels_per_point: f32,
    ) -> std::io::Result<()> {
        self.spawn_writer(ExportKind::Png, path, move |path| {
            let picture = crop_to_picture(&image, rect, pixels_per_point)?;
            crate::export::png::write_png(path, &picture).map_err(|e| format!("{e:#}"))
        })
    }

    /// Export a figure with its CSV and JSON sidecars on a new thread: to `path`, or to the path
    /// `dialog` asks for (on the same thread, so the UI never waits on it).
    pub fn export_figure(
        &mut self,
        dialog: Option<Arc<dyn FileDialog>>,
        path: Option<PathBuf>,
        default_name: String,
        figure: Box<Figure>,
        opts: ExportOptions,
        config: serde_json::Value,
    ) -> std::io::Result<()> {
        let out = self.sender_for(Source::Worker);
        let handle = std::thread::Builder::new()
            .name("export-figure".into())
            .spawn(move || {
                let ext = opts.format.extension();
                let path = path
                    .or_else(|| dialog.and_then(|d| d.save("Export figure", &default_name, ext)));
                let done = match path {
                    None => FigureDone::NoPath { default_name },
                    Some(path) => FigureDone::Written(
                        write_figure(&path, &figure, &opts, &config).map_err(|e| format!("{e:#}")),
                    ),
                };
                out.send(JobDone::Figure(done).into());
            })?;
        self.writers.push(handle);
        Ok(())
    }

    /// Run `write` on a thread named after the export; its result comes back as `Written`.
    fn spawn_writer(
        &mut self,
        kind: ExportKind,
        path: PathBuf,
        write: impl FnOnce(&std::path::Path) -> Result<(), String> + Send + 'static,
    ) -> std::io::Result<()> {
        let out = self.sender_for(Source::Worker);
        let handle = std::thread::Builder::new()
            .name(format!("export-{}", kind.ext()))
            .spawn(move || {
                let result = write(&path);
                out.send(JobDone::Written { kind, path, result }.into());
            })?;
        self.writers.push(handle);
        Ok(())
    }
}

impl<D> Drop for Jobs<D> {
    fn drop(&mut self) {
        // Let writes finish (draining results so no writer blocks on a full channel).
        while self.writers.iter().any(|h| !h.is_finished()) {
            while self.rx.try_recv().is_ok() {}
            std::thread::sleep(Duration::from_millis(5));
        }
        reap(&mut self.writers);
        reap(&mut self.dialogs);
        // A dialog still open waits on the user and cannot be interrupted; its thread ends when the
        // dialog does (or with the process), and its result is dropped with the channel.
    }
}

/// The part of `image` under `rect` (in points) as RGBA, or why there is none.
pub fn crop_to_picture(
    image: &ColorImage,
    rect: Rect,
    pixels_per_point: f32,
) -> Result<RgbaPicture, String> {
    let ppp = if pixels_per_point.is_finite() && pixels_per_point > 0.0 {
        pixels_per_point
    } else {
        1.0
    };
    let [w, h] = image.size;
    let whole = Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(w as f32 / ppp, h as f32 / ppp));
    let rect = rect.intersect(whole);
    if !rect.is_positive() {
        return Err(format!(
            "the plots ({rect:?}) are outside the captured {w}x{h} image"
        ));
    }
    // Within the image now, so `region` cannot index past it.
    let region = image.region(&rect, Some(ppp));
    let [rw, rh] = region.size;
    let rgba: Vec<u8> = region
        .pixels
        .iter()
        .flat_map(|c| c.to_srgba_unmultiplied())
        .collect();
    let picture = RgbaPicture {
        width: u32::try_from(rw).map_err(|e| e.to_string())?,
        height: u32::try_from(rh).map_err(|e| e.to_string())?,
        rgba,
    };
    picture.check().map_err(|e| e.to_string())?;
    Ok(picture)
}

/// Sends a result to the UI and wakes it.
#[derive(Clone)]
pub struct JobSender<D = JobDone> {
    tx: Sender<(Source, D)>,
    wake: Arc<dyn Fn() + Send + Sync>,
    source: Source,
    queued: Arc<Queued>,
}

impl<D> JobSender<D> {
    pub fn send(&self, done: D) {
        // Counted before it is sent, so that from the moment the job's thread has ended until the UI
        // takes the answer, the job still reads as under way.
        let count = self.queued.count(self.source);
        if let Some(count) = count {
            count.fetch_add(1, Ordering::SeqCst);
        }
        // The UI drains every frame; if it is gone (closing), the result has no one to go to.
        if self
            .tx
            .send_timeout((self.source, done), Duration::from_secs(5))
            .is_err()
            && let Some(count) = count
        {
            count.fetch_sub(1, Ordering::SeqCst);
        }
        (self.wake)();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eframe::egui::Color32;

    #[test]
    fn crop_takes_the_rect_in_pixels_and_clamps() {
        // 4x2 points at 2 pixels per point: an 8x4 image whose pixel (x, y) has red = x, green = y
        let pixels = (0..4)
            .flat_map(|y| (0..8).map(move |x| Color32::from_rgb(x as u8, y as u8, 0)))
            .collect();
        let image = ColorImage::new([8, 4], pixels);
        let rect = Rect::from_min_max(egui::pos2(1.0, 1.0), egui::pos2(10.0, 10.0)); // beyond the image
        let pic = crop_to_picture(&image, rect, 2.0).unwrap();
        assert_eq!((pic.width, pic.height), (6, 2)); // pixels x 2..8, y 2..4
        assert_eq!(&pic.rgba[..4], &[2, 2, 0, 255]);
        let outside = Rect::from_min_max(egui::pos2(20.0, 20.0), egui::pos2(30.0, 30.0));
        assert!(crop_to_picture(&image, outside, 2.0).is_err());
    }

    fn wait_for_threads(jobs: &Jobs) {
        while jobs.threads_alive() {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_job_is_under_way_until_its_answer_is_taken() {
        // A dialog (or worker) thread sends its answer and ends; until the UI takes the answer the job
        // must still read as under way, or a button it disables comes back for a frame (a second
        // dialog could open) and a lab waiting for it would look idle with an answer still queued.
        let mut jobs: Jobs = Jobs::new(Arc::new(|| {}));
        let kind = ExportKind::Csv;
        jobs.spawn_dialog("test-dialog", move |out| {
            out.send(JobDone::Chosen { kind, path: None })
        })
        .unwrap();
        jobs.spawn_worker("test-worker", move |out| {
            out.send(JobDone::Written {
                kind,
                path: PathBuf::from("x.csv"),
                result: Ok(()),
            })
        })
        .unwrap();
        wait_for_threads(&jobs);
        assert!(jobs.dialog_open(), "the dialog's answer is not taken yet");
        assert!(jobs.writing(), "the worker's answer is not taken yet");
        let mut taken = Vec::new();
        while let Some(done) = jobs.try_recv() {
            taken.push(done);
        }
        assert_eq!(taken.len(), 2);
        assert!(!jobs.dialog_open() && !jobs.writing());

        // What the outside sender sends (the screenshot) counts as neither.
        jobs.sender().send(JobDone::Chosen { kind, path: None });
        assert!(!jobs.dialog_open() && !jobs.writing());
        assert!(jobs.try_recv().is_some());

        // A thread that ends without answering frees the job at once.
        jobs.spawn_dialog("silent-dialog", |_out| {}).unwrap();
        wait_for_threads(&jobs);
        assert!(!jobs.dialog_open());
    }
}
