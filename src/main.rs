//! The `grokscope` binary: the window with no subcommand, headless commands otherwise.

use clap::Parser;
use grokscope::cli::Cli;
use std::process::ExitCode;

// glibc hands every large tensor buffer back to the OS and page-faults it in again on the next op;
// mimalloc keeps them (stack.md: 2-2.9x on candle training steps).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        // candle's element-wise pool spin-waits; on 2 cores a second spinning thread per run made
        // transformer steps 4-5x slower. Matrix products still use all cores (RAYON_NUM_THREADS).
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("CANDLE_NUM_THREADS", "1") };
    }
    // before anything can use rayon, so that its threads compute as the training threads do
    grokscope::perf::build_pool();
    let cli = Cli::parse();
    // a subcommand's own --device, else one given before it (or the window's)
    let device = cli.command.as_ref().and_then(|c| c.device()).or(cli.device);
    if let Some(d) = device {
        grokscope::model::device::set_override(d);
    }
    if let Some(cmd) = &cli.command
        && cli.device.is_some()
        && !cmd.trains()
    {
        eprintln!("note: --device is ignored: this command trains no transformer");
    }
    if cli.command.is_some() && (cli.lesson.is_some() || cli.presenter || cli.scene.is_some()) {
        eprintln!("error: --lesson, --presenter and --scene open the window: give no subcommand");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        None => {
            let start = grokscope::app::WindowStart {
                lesson: cli.lesson,
                presenter: cli.presenter,
                scene: cli.scene,
            };
            grokscope::app::run_window(start).map(|()| ExitCode::SUCCESS)
        }
        Some(cmd) => {
            restore_sigpipe();
            grokscope::cli::run(cmd)
        }
    };
    // errors are printed once, here, with their context chain
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}

/// A headless command whose reader goes away (`grokscope presets --show x | head -3`) ends quietly,
/// as other Unix tools do: Rust ignores SIGPIPE, so every later write would fail (and `eprintln!`
/// panics on it). The window keeps Rust's setting.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's action to the default; no handler of ours runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
