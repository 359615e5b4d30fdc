//! The CUDA side (only with the `cuda` feature): whether a GPU works here, a device per model, and our
//! kernels (AdamW on the device, dropout masks made on the device), so a training step sends nothing to
//! the host but its loss and accuracy.

use super::device::Probe;
use candle_core::backend::BackendStorage;
use candle_core::cuda_backend::WrapErr;
use candle_core::cuda_backend::cudarc::driver::{CudaContext, LaunchConfig, PushKernelArg, result};
use candle_core::cuda_backend::cudarc::{cublas, cublaslt, curand, driver};
use candle_core::op::BackpropOp;
use candle_core::{CpuStorage, CudaStorage, Device, InplaceOp2, Layout, Shape, Storage, Tensor};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// src/model/kernels.cu, compiled by build.rs.
const PTX: &str = include_str!(concat!(env!("OUT_DIR"), "/grokscope_kernels.ptx"));
const MODULE: &str = "grokscope";

/// The CUDA libraries candle opens, loaded at run time: which of them cannot be found.
fn libraries() -> Result<(), String> {
    // SAFETY: each check only dlopens its library and closes it again.
    let found = unsafe {
        [
            ("libcuda (the driver)", driver::sys::is_culib_present()),
            ("cuBLAS", cublas::sys::is_culib_present()),
            ("cuBLASLt", cublaslt::sys::is_culib_present()),
            ("cuRAND", curand::sys::is_culib_present()),
        ]
    };
    let missing: Vec<&str> = found
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "cannot load {} (not installed, or not on LD_LIBRARY_PATH)",
            missing.join(", ")
        ))
    }
}

/// The libraries load, the driver starts, and it reports this many GPUs.
fn driver_status() -> Result<usize, String> {
    libraries()?;
    result::init().map_err(|e| format!("the CUDA driver did not start: {e}"))?;
    let n = CudaContext::device_count().map_err(|e| format!("counting GPUs: {e}"))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Start GPU `n` as a model would (its own stream, our kernels loaded) and run one kernel on it.
fn try_open(n: usize) -> Result<String, String> {
    let dev = new_device(n).map_err(|e| format!("{e}"))?;
    let mask = dropout_mask(&dev, &Shape::from(4), 0.5, 1).map_err(|e| format!("{e}"))?;
    mask.to_vec1::<f32>().map_err(|e| format!("{e}"))?;
    let ctx = CudaContext::new(n).map_err(|e| format!("{e}"))?;
    ctx.name().map_err(|e| format!("{e}"))
}

/// Run `f`, turning a panic (cudarc panics when a library or symbol is missing at the first call) into
/// an error.
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let text = p
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(format!("CUDA panicked: {text}"))
    })
}

static DRIVER: OnceLock<Result<usize, String>> = OnceLock::new();
static OPENED: Mutex<Option<HashMap<usize, Result<String, String>>>> = Mutex::new(None);

/// What this machine offers (cached per process, and per GPU for `ordinal`).
pub fn probe(ordinal: Option<usize>) -> Probe {
    let driver = DRIVER.get_or_init(|| guarded(driver_status)).clone();
    let opened = match (ordinal, &driver) {
        (Some(n), Ok(count)) if n < *count => {
            let mut cache = OPENED.lock().unwrap_or_else(|e| e.into_inner());
            let r = cache
                .get_or_insert_with(HashMap::new)
                .entry(n)
                .or_insert_with(|| guarded(|| try_open(n)))
                .clone();
            Some((n, r))
        }
        _ => None,
    };
    Probe {
        built: true,
        driver,
        opened,
    }
}

/// A device on GPU `n` with a stream of its own, so that runs on several threads overlap on one GPU.
pub fn new_device(n: usize) -> candle_core::Result<Device> {
    let dev = Device::new_cuda_with_stream(n)?;
    // SAFETY: cudarc's event tracking orders uses of one buffer across streams. Every tensor of a model
    // is made, used and freed on that model's own stream (export and import copy through the host), so
    // no buffer is ever shared between streams and the per-launch event records are pure overhead.
    unsafe { dev.as_cuda_device()?.disable_event_tracking() };
    Ok(dev)
}

fn launch_config(n: usize) -> candle_core::Result<(u32, LaunchConfig)> {
    let n32 = u32::try_from(n).map_err(|_| {
        candle_core::Error::Msg(format!("{n} elements exceed a 32-bit kernel index"))
    })?;
    Ok((n32, LaunchConfig::for_num_elems(n32)))
}

/// An inverted-dropout mask of `shape` on `dev` (a CUDA device): each entry 1/(1 - rate) with
/// probability 1 - rate, else 0, from a counter-based hash of `seed` and the entry's index; the keep
/// probability is exact to 2^-17, as on the CPU path.
pub fn dropout_mask(
    dev: &Device,
    shape: &Shape,
    rate: f64,
    seed: u64,
) -> candle_core::Result<Tensor> {
    let cuda = dev.as_cuda_device()?;
    let n = shape.elem_count();
    let (n32, cfg) = launch_config(n)?;
    let keep = 1.0 - rate;
    let threshold = (keep * 65536.0).round() as u32;
    let kept = (1.0 / keep) as f32;
    let func = cuda.get_or_load_custom_func("dropout_mask_f32", MODULE, PTX)?;
    // SAFETY: the kernel writes every one of the n entries before anything reads them.
    let mut out = unsafe { cuda.alloc::<f32>(n)? };
    let mut b = func.builder();
    b.arg(&mut out);
    b.arg(&n32);
    b.arg(&seed);
    b.arg(&threshold);
    b.arg(&kept);
    // SAFETY: the arguments match dropout_mask_f32's parameters in number, order and type.
    unsafe { b.launch(cfg) }.w()?;
    let storage = Storage::Cuda(CudaStorage::wrap_cuda_slice(out, cuda.clone()));
    Ok(Tensor::from_storage(
        storage,
        shape.clone(),
        BackpropOp::none(),
        false,
    ))
}

/// The scalars of one AdamW step (see `AdamW::step_scalars`).
#[derive(Clone, Copy, Debug)]
pub struct AdamStep {
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub decay: f32,
    pub step_size: f32,
    pub inv_bias2_sqrt: f32,
}

/// `(offset, len)` of a contiguous layout, or an error.
fn span(l: &Layout, what: &str) -> candle_core::Result<(usize, usize)> {
    l.contiguous_offsets()
        .map(|(a, b)| (a, b - a))
        .ok_or_else(|| candle_core::Error::Msg(format!("{what} must be contiguous")))
}

/// One of the in-place AdamW kernels of kernels.cu: `dst` updated from `src`, where one of them has the
/// parameter's n entries and the other the 2n of the moments [m; v]; then the f32 `scalars` in the
/// kernel's order.
struct AdamKernel {
    kernel: &'static str,
    scalars: Vec<f32>,
}

impl InplaceOp2 for AdamKernel {
    fn name(&self) -> &'static str {
        self.kernel
    }
    fn cpu_fwd(
        &self,
        _: &mut CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> candle_core::Result<()> {
        candle_core::bail!(
            "{} runs on the GPU only (the CPU path keeps AdamW on the host)",
            self.kernel
        )
    }
    fn cuda_fwd(
        &self,
        dst: &mut CudaStorage,
        dl: &Layout,
        src: &CudaStorage,
        sl: &Layout,
    ) -> candle_core::Result<()> {
        let (d_off, d_len) = span(dl, "the destination")?;
        let (s_off, s_len) = span(sl, "the source")?;
        let n = d_len.min(s_len);
        if d_len.max(s_len) != 2 * n {
            candle_core::bail!("{}: {d_len} and {s_len} entries, not n and 2n", self.kernel);
        }
        let (n32, cfg) = launch_config(n)?;
        let dev = dst.device().clone();
        let func = dev.get_or_load_custom_func(self.kernel, MODULE, PTX)?;
        let src = src.as_cuda_slice::<f32>()?.slice(s_off..s_off + s_len);
        let mut dst = dst
            .as_cuda_slice_mut::<f32>()?
            .slice_mut(d_off..d_off + d_len);
        let mut b = func.builder();
        b.arg(&mut dst);
        b.arg(&src);
        b.arg(&n32);
        for s in &self.scalars {
            b.arg(s);
        }
        // SAFETY: adam_moments_f32 takes (mv, g, n, b1, b2) and adam_param_f32 (p, mv, n, decay,
        // step_size, inv_bias2_sqrt, eps), all f32 after n; `adamw_step` builds both with those scalars,
        // and the lengths were checked above.
        unsafe { b.launch(cfg) }.w()?;
        Ok(())
    }
}

/// One AdamW step on the device: `mv` ([m; v], 2n entries) from `grad`, then `param` (n entries) from
/// `mv`, both in place; two kernels, nothing crosses to the host.
pub fn adamw_step(
    param: &Tensor,
    mv: &Tensor,
    grad: &Tensor,
    step: AdamStep,
) -> candle_core::Result<()> {
    let s = step;
    let moments = AdamKernel {
        kernel: "adam_moments_f32",
        scalars: vec![s.beta1, s.beta2],
    };
    let update = AdamKernel {
        kernel: "adam_param_f32",
        scalars: vec![s.decay, s.step_size, s.inv_bias2_sqrt, s.eps],
    };
    mv.inplace_op2(&grad.contiguous()?, &moments)?;
    param.inplace_op2(mv, &update)
}
