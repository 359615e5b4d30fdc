//! With the `cuda` feature, compile src/model/kernels.cu to PTX with nvcc (the CUDA toolkit a cuda build
//! needs anyway for candle's kernels); without it, nothing.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_CUDA").is_none() {
        return;
    }
    let src = "src/model/kernels.cu";
    println!("cargo:rerun-if-changed={src}");
    for var in ["CUDA_COMPUTE_CAP", "CUDA_ROOT", "CUDA_PATH", "CUDA_HOME"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    // PTX for this virtual architecture is compiled by the driver for the GPU it meets (same or newer);
    // 75 is the oldest CUDA 13 accepts. candle's own kernels follow CUDA_COMPUTE_CAP too.
    let cap = std::env::var("CUDA_COMPUTE_CAP").unwrap_or_else(|_| "75".into());
    let nvcc = ["CUDA_ROOT", "CUDA_PATH", "CUDA_HOME"]
        .iter()
        .filter_map(std::env::var_os)
        .map(|root| PathBuf::from(root).join("bin/nvcc"))
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("nvcc"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("grokscope_kernels.ptx");
    let status = Command::new(&nvcc)
        .args(["--ptx", "-O3", &format!("-arch=compute_{cap}"), src, "-o"])
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("the cuda feature needs nvcc ({}): {e}", nvcc.display()));
    assert!(status.success(), "nvcc failed on {src}");
}
