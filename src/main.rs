//! The `grokscope` binary: the window with no subcommand, headless commands otherwise.

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
    grokscope::cli::main()
}
