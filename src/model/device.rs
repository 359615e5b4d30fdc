//! Where a model's tensors live: the CPU, or a CUDA GPU when the binary was built with the `cuda` feature
//! and one works here.
//!
//! A `cuda` build loads the CUDA libraries at run time (see the `[patch]` in Cargo.toml), so the same binary
//! starts on a machine without them. Whether a GPU can be used is found out once per process and GPU
//! ([`probe`]); what to do with that answer is [`choose`], a pure function over the probe's result, so the
//! fallback rules are tested on any machine.

pub use crate::config::device::{Choice, DeviceRequest, Placement};

/// What was found out about CUDA on this machine, as far as one request needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    /// The binary was built with the `cuda` feature.
    pub built: bool,
    /// GPUs the driver reports, or why the CUDA libraries or the driver could not be used.
    pub driver: Result<usize, String>,
    /// The GPU that was tried (its ordinal) and whether it started (its name) or why not.
    pub opened: Option<(usize, Result<String, String>)>,
}

/// Why an explicit GPU request cannot be met.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("device {request}: {why}")]
pub struct DeviceError {
    pub request: DeviceRequest,
    pub why: String,
}

/// The ordinal a request needs probed (`None`: no GPU is needed).
pub fn ordinal_to_probe(request: DeviceRequest) -> Option<usize> {
    match request {
        DeviceRequest::Cpu => None,
        DeviceRequest::Auto => Some(0),
        DeviceRequest::Cuda(n) => Some(n),
    }
}

/// The device for `request` given what `probe` found. `auto` takes GPU 0 when it started and otherwise
/// falls back to the CPU, saying why; an explicit `cuda:N` that cannot be used is an error, never a
/// silent CPU run.
pub fn choose(request: DeviceRequest, probe: &Probe) -> Result<Choice, DeviceError> {
    let cpu = |reason: String| -> Result<Choice, DeviceError> {
        Ok(Choice {
            placement: Placement::Cpu,
            reason,
        })
    };
    let Some(n) = ordinal_to_probe(request) else {
        return cpu("asked for the CPU".into());
    };
    let auto = request.is_auto();
    let fail = |why: String| {
        if auto {
            cpu(format!("auto: {why}; using the CPU"))
        } else {
            Err(DeviceError { request, why })
        }
    };
    if !probe.built {
        return fail("this binary was built without the cuda feature".into());
    }
    let count = match &probe.driver {
        Ok(c) => *c,
        Err(e) => return fail(format!("CUDA is not usable here: {e}")),
    };
    if count == 0 {
        return fail("the CUDA driver reports no GPU".into());
    }
    if n >= count {
        return fail(format!("GPU {n} asked for, {count} visible"));
    }
    match &probe.opened {
        Some((m, Ok(name))) if *m == n => Ok(Choice {
            placement: Placement::Cuda(n),
            reason: if auto {
                format!("auto: GPU {n} ({name}) works")
            } else {
                format!("asked for GPU {n} ({name})")
            },
        }),
        Some((m, Err(e))) if *m == n => fail(format!("GPU {n} did not start: {e}")),
        _ => fail(format!("GPU {n} was not tried")),
    }
}

/// A device request given on the command line; it overrides every config's `device` in this process.
static OVERRIDE: std::sync::OnceLock<DeviceRequest> = std::sync::OnceLock::new();

/// Make `request` the device of every model built from now on in this process (`--device`). Only the
/// first call counts; `false` when an earlier call had set another device.
pub fn set_override(request: DeviceRequest) -> bool {
    OVERRIDE.get_or_init(|| request) == &request
}

/// The request in force for a config asking for `configured`: the command line's, else the config's.
pub fn effective(configured: DeviceRequest) -> DeviceRequest {
    OVERRIDE.get().copied().unwrap_or(configured)
}

/// Choices already announced on stderr (one line per distinct choice per process, not one per run of a
/// sweep).
static ANNOUNCED: std::sync::Mutex<Vec<Choice>> = std::sync::Mutex::new(Vec::new());

/// Print `choice` on stderr unless this process has already printed it.
pub fn announce(choice: &Choice) {
    let mut seen = ANNOUNCED.lock().unwrap_or_else(|e| e.into_inner());
    if !seen.contains(choice) {
        eprintln!("grokscope: training on {choice}");
        seen.push(choice.clone());
    }
}

/// Find out what `request` needs to know: nothing for the CPU, else whether the CUDA libraries load,
/// how many GPUs there are and whether the asked-for GPU starts (cached per process and ordinal).
pub fn probe(request: DeviceRequest) -> Probe {
    #[cfg(feature = "cuda")]
    {
        super::gpu::probe(ordinal_to_probe(request))
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = request;
        Probe {
            built: false,
            driver: Err("not built with the cuda feature".into()),
            opened: None,
        }
    }
}

/// Probe and choose for a config's `configured` request (after the command line's override).
pub fn resolve(configured: DeviceRequest) -> Result<Choice, DeviceError> {
    let request = effective(configured);
    choose(request, &probe(request))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe_with(
        built: bool,
        driver: Result<usize, &str>,
        opened: Option<(usize, Result<&str, &str>)>,
    ) -> Probe {
        Probe {
            built,
            driver: driver.map_err(String::from),
            opened: opened.map(|(n, r)| (n, r.map(String::from).map_err(String::from))),
        }
    }

    #[test]
    fn requests_parse_and_print() {
        // expected: the spellings documented for --device, each printed back in its canonical form
        for (text, want, shown) in [
            ("auto", DeviceRequest::Auto, "auto"),
            ("cpu", DeviceRequest::Cpu, "cpu"),
            ("cuda", DeviceRequest::Cuda(0), "cuda:0"),
            ("cuda:3", DeviceRequest::Cuda(3), "cuda:3"),
        ] {
            let got: DeviceRequest = text.parse().unwrap();
            assert_eq!(got, want);
            assert_eq!(got.to_string(), shown);
        }
        for bad in ["", "gpu:x", "cuda:", "cuda:-1", "tpu"] {
            assert!(bad.parse::<DeviceRequest>().is_err(), "{bad}");
        }
    }

    #[test]
    fn auto_takes_a_working_gpu() {
        let p = probe_with(true, Ok(1), Some((0, Ok("NVIDIA H200"))));
        let c = choose(DeviceRequest::Auto, &p).unwrap();
        assert_eq!(c.placement, Placement::Cuda(0));
        assert!(c.reason.contains("NVIDIA H200"), "{c}");
    }

    #[test]
    fn auto_falls_back_to_the_cpu_and_says_why() {
        // expected: each way a GPU can be missing gives the CPU, with that way named in the reason
        let cases = [
            (
                probe_with(false, Err("x"), None),
                "without the cuda feature",
            ),
            (
                probe_with(true, Err("libcuda.so not found"), None),
                "libcuda.so not found",
            ),
            (probe_with(true, Ok(0), None), "no GPU"),
            (
                probe_with(true, Ok(1), Some((0, Err("out of memory")))),
                "out of memory",
            ),
            (probe_with(true, Ok(1), None), "not tried"),
        ];
        for (p, why) in cases {
            let c = choose(DeviceRequest::Auto, &p).unwrap();
            assert_eq!(c.placement, Placement::Cpu, "{p:?}");
            assert!(c.reason.contains(why), "{c} should say {why}");
            assert!(c.reason.starts_with("auto:"), "{c}");
        }
    }

    #[test]
    fn cpu_is_always_the_cpu() {
        let gpu = probe_with(true, Ok(2), Some((0, Ok("G"))));
        let c = choose(DeviceRequest::Cpu, &gpu).unwrap();
        assert_eq!(c.placement, Placement::Cpu);
        assert_eq!(ordinal_to_probe(DeviceRequest::Cpu), None);
    }

    #[test]
    fn an_explicit_gpu_that_cannot_be_used_is_an_error() {
        // expected: no silent CPU run when a GPU was asked for
        let cases = [
            (DeviceRequest::Cuda(0), probe_with(false, Err("x"), None)),
            (
                DeviceRequest::Cuda(0),
                probe_with(true, Err("no libcuda"), None),
            ),
            (DeviceRequest::Cuda(0), probe_with(true, Ok(0), None)),
            (DeviceRequest::Cuda(2), probe_with(true, Ok(2), None)),
            (
                DeviceRequest::Cuda(1),
                probe_with(true, Ok(2), Some((1, Err("busy")))),
            ),
            // a probe of another GPU says nothing about this one
            (
                DeviceRequest::Cuda(1),
                probe_with(true, Ok(2), Some((0, Ok("G")))),
            ),
        ];
        for (req, p) in cases {
            let e = choose(req, &p).unwrap_err();
            assert_eq!(e.request, req);
        }
        let ok = choose(
            DeviceRequest::Cuda(1),
            &probe_with(true, Ok(2), Some((1, Ok("G")))),
        )
        .unwrap();
        assert_eq!(ok.placement, Placement::Cuda(1));
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn a_cpu_build_runs_auto_on_the_cpu() {
        // expected: without the feature the real probe reports it, and auto gives the CPU
        let p = probe(DeviceRequest::Auto);
        assert!(!p.built);
        let c = choose(DeviceRequest::Auto, &p).unwrap();
        assert_eq!(c.placement, Placement::Cpu);
        assert!(choose(DeviceRequest::Cuda(0), &p).is_err());
    }

    #[test]
    fn config_text_round_trips() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct C {
            device: DeviceRequest,
        }
        let c: C = toml::from_str("device = \"cuda:1\"").unwrap();
        assert_eq!(c.device, DeviceRequest::Cuda(1));
        assert_eq!(toml::to_string(&c).unwrap().trim(), "device = \"cuda:1\"");
        assert!(toml::from_str::<C>("device = \"gpu0\"").is_err());
    }
}
