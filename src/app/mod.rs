//! The egui app (placeholder until the app lands).

/// Open the window.
pub fn run_window() -> anyhow::Result<()> {
    anyhow::bail!("the window is not built yet")
}
