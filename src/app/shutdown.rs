//! The window closes as its close button closes it when the process is asked to end (SIGTERM from a
//! session ending or `kill`, SIGHUP from a closed terminal, SIGINT from Ctrl-C): the labs are dropped,
//! so their workers stop and the runs recorded under the temporary folder (`TempRuns`) are removed.
//! Killed at once instead, a window left its temporary folder behind (a researcher's audit, L10).
//!
//! Written by hand on `libc` (already a dependency) rather than with a signal crate: the handler only
//! sets a flag, and a thread that watches the flag wakes the window, whose next frame closes it. A
//! second signal ends the process at once (the handler puts back the default action), so a window that
//! does not close can still be killed.

use eframe::egui;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static ASKED: AtomicBool = AtomicBool::new(false);

/// The signals that close the window.
#[cfg(unix)]
const SIGNALS: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGHUP, libc::SIGINT];

#[cfg(unix)]
extern "C" fn on_signal(signal: libc::c_int) {
    ASKED.store(true, Ordering::SeqCst);
    // SAFETY: signal(2) is async-signal-safe; the next such signal takes the default action (ends
    // the process)
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
    }
}

/// Whether the process has been asked to end since [`install`].
pub fn asked() -> bool {
    ASKED.load(Ordering::SeqCst)
}

/// Catch the signals that end a process (once each), and wake `ctx` when one comes, so that its next
/// frame sees [`asked`].
pub fn install(ctx: &egui::Context) {
    #[cfg(unix)]
    for s in SIGNALS {
        // SAFETY: the handler only stores to an atomic and calls signal(2), both async-signal-safe
        unsafe {
            libc::signal(s, on_signal as *const () as libc::sighandler_t);
        }
    }
    let ctx = ctx.clone();
    let watch = std::thread::Builder::new()
        .name("grokscope-signals".into())
        .spawn(move || {
            while !asked() {
                std::thread::sleep(Duration::from_millis(100));
            }
            ctx.request_repaint();
        });
    if let Err(e) = watch {
        eprintln!("warning: a signal will not close the window cleanly ({e})");
    }
}

/// Close the window of `ctx` when the process has been asked to end (called every frame).
pub fn close_if_asked(ctx: &egui::Context) {
    if asked() {
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A SIGHUP sent to this process after `install` sets the flag instead of ending it (the test
    /// process would end without the handler: SIGHUP's default action), the watcher wakes the
    /// context, and its next frame asks to close the viewport.
    #[test]
    fn a_signal_asks_the_window_to_close() {
        let ctx = egui::Context::default();
        install(&ctx);
        assert!(!asked());
        // SAFETY: raise(3) delivers to this thread; our handler is installed
        assert_eq!(unsafe { libc::raise(libc::SIGHUP) }, 0);
        assert!(asked());
        let mut out = ctx.run_ui(Default::default(), |ui| close_if_asked(ui.ctx()));
        let commands = &out.viewport_output[&egui::ViewportId::ROOT].commands;
        assert!(
            commands.contains(&egui::ViewportCommand::Close),
            "{commands:?}"
        );
        // no renderer takes the frame's font texture: dropped unapplied, a debug build panics
        out.textures_delta.clear();
        // the test process ends on these signals again, as before
        for s in SIGNALS {
            // SAFETY: setting the default action; no handler of ours runs
            unsafe {
                libc::signal(s, libc::SIG_DFL);
            }
        }
    }
}
