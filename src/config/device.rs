//! Which device a config asks to train on, and the words for what was chosen ([`Choice`], carried by a
//! run's `Started` event to the status bar). The choice itself, with its fallback rules, is
//! `model::device`: configs are the ground floor and name no model.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a config or the command line asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeviceRequest {
    /// The first GPU when one works here, else the CPU.
    #[default]
    Auto,
    /// The CPU, even when a GPU is there.
    Cpu,
    /// This CUDA GPU (by ordinal); an error when it cannot be used.
    Cuda(usize),
}

impl DeviceRequest {
    pub fn is_auto(&self) -> bool {
        *self == DeviceRequest::Auto
    }
}

impl fmt::Display for DeviceRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceRequest::Auto => write!(f, "auto"),
            DeviceRequest::Cpu => write!(f, "cpu"),
            DeviceRequest::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl FromStr for DeviceRequest {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s {
            "auto" => Ok(DeviceRequest::Auto),
            "cpu" => Ok(DeviceRequest::Cpu),
            "cuda" => Ok(DeviceRequest::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse::<usize>().ok())
                .map(DeviceRequest::Cuda)
                .ok_or_else(|| format!("device {s:?}: expected auto, cpu, cuda or cuda:N")),
        }
    }
}

impl TryFrom<String> for DeviceRequest {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<DeviceRequest> for String {
    fn from(d: DeviceRequest) -> String {
        d.to_string()
    }
}

/// The device a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Placement {
    Cpu,
    Cuda(usize),
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Placement::Cpu => write!(f, "cpu"),
            Placement::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// A placement and why it was chosen, in words for stderr and the status bar.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Choice {
    pub placement: Placement,
    pub reason: String,
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.placement, self.reason)
    }
}

impl Choice {
    /// The CPU for a model that only runs there (the MLP).
    pub fn cpu_only() -> Choice {
        Choice {
            placement: Placement::Cpu,
            reason: "this model runs on the CPU only".into(),
        }
    }
}
