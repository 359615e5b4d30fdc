//! TensorBoard event files: a writer (runs on disk write `RUN/tensorboard/events.out.tfevents...` as
//! they train when asked to) and a reader (tests, and checking a file).
//!
//! A file is a sequence of records, each
//!
//! ```text
//! u64 little-endian length | masked CRC32C of those 8 bytes | data | masked CRC32C of the data
//! ```
//!
//! with `mask(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8` (wrapping) and the data a serialised
//! `tensorflow.Event` protobuf. The first record says `file_version = "brain.Event:2"`; then each batch
//! of metric rows becomes one `Event` per row with a `Summary` of `simple_value`s tagged like
//! `train/loss` or `val/acc` (see [`tag`]) at the optimiser step.
//!
//! Written by hand: no maintained crate writes these files (stack.md), and the handful of protobuf fields
//! used here (`wall_time`, `step`, `file_version`, `summary.value{tag, simple_value}`,
//! `session_log.status`) are a few lines of varint and fixed-width encoding, while a protobuf code
//! generator would add a build step and a schema copied from TensorFlow. Only the CRC comes from a crate
//! (`crc`, with CRC-32/ISCSI, which is CRC32C).
//!
//! Files are append-only: records are added and flushed with each flush of the run folder, so a crash
//! loses at most the last batch, and TensorBoard ignores a truncated last record.

use crate::protocol::{GrokEvent, Metric};
use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The sub-folder of a run folder that holds its event files.
pub const FOLDER: &str = "tensorboard";
/// The `file_version` of the first record of every file.
pub const FILE_VERSION: &str = "brain.Event:2";

/// CRC32C (Castagnoli), the checksum of TFRecord framing.
const CASTAGNOLI: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

/// The CRC32C of `bytes`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    CASTAGNOLI.checksum(bytes)
}

/// TFRecord's masking of a CRC (stored CRCs are masked so that CRCs of CRCs do not look valid).
pub fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// The inverse of [`mask`].
pub fn unmask(masked: u32) -> u32 {
    masked.wrapping_sub(0xa282_ead8).rotate_left(15)
}

/// The TensorBoard tag of a metric.
pub fn tag(m: Metric) -> &'static str {
    match m {
        Metric::TrainLoss => "train/loss",
        Metric::TrainAcc => "train/acc",
        Metric::TrainAccEval => "train/acc_eval",
        Metric::TrainLossEval => "train/loss_eval",
        Metric::ValAcc => "val/acc",
        Metric::ValLoss => "val/loss",
        Metric::WeightNorm => "weights/norm",
        Metric::Lr => "hparams/lr",
        Metric::WeightDecay => "hparams/weight_decay",
        Metric::FourierGini => "progress/fourier_gini",
        Metric::FourierIpr => "progress/fourier_ipr",
        Metric::RestrictedLoss => "progress/restricted_loss",
        Metric::ExcludedLoss => "progress/excluded_loss",
        Metric::RestrictedLossFinal => "progress/restricted_loss_final_keys",
        Metric::ExcludedLossFinal => "progress/excluded_loss_final_keys",
        Metric::Mse => "ordering/mse",
        Metric::Orderedness => "ordering/D",
        Metric::Sparsity => "ordering/measured_sparsity",
        Metric::OrderednessNull => "ordering/D_shuffled",
    }
}

/// The tag of a grokking milestone; its value is the epoch at which it was detected.
pub fn event_tag(e: GrokEvent) -> &'static str {
    match e {
        GrokEvent::Memorised => "events/memorised",
        GrokEvent::Val98 => "events/val98",
        GrokEvent::Generalised => "events/generalised",
    }
}

/// What an `Event` carries (the protobuf's `oneof what`, as far as grokscope uses it).
#[derive(Clone, Debug, PartialEq)]
pub enum What {
    /// `file_version` (field 3): the first record of a file.
    FileVersion(String),
    /// `summary` (field 5): scalar values as (tag, simple_value).
    Scalars(Vec<(String, f32)>),
    /// `session_log` (field 7) with status START: training (re)started here; TensorBoard drops what
    /// earlier files logged at this step or later (the part of a run that a resume replaced).
    SessionStart,
    /// Nothing, or a field grokscope does not write (the reader skips it).
    Other,
}

/// One `tensorflow.Event`.
#[derive(Clone, Debug, PartialEq)]
pub struct TbEvent {
    /// Seconds since the Unix epoch (field 1, double).
    pub wall_time: f64,
    /// The optimiser step (field 2, int64).
    pub step: i64,
    pub what: What,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field (wire type 2).
fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, field << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

impl TbEvent {
    /// The serialised protobuf.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![];
        put_varint(&mut out, 1 << 3 | 1);
        out.extend_from_slice(&self.wall_time.to_le_bytes());
        put_varint(&mut out, 2 << 3);
        // int64 is encoded as the varint of its two's complement
        put_varint(&mut out, self.step as u64);
        match &self.what {
            What::FileVersion(v) => put_bytes(&mut out, 3, v.as_bytes()),
            What::Scalars(values) => {
                let mut summary = vec![];
                for (tag, v) in values {
                    let mut value = vec![];
                    put_bytes(&mut value, 1, tag.as_bytes());
                    put_varint(&mut value, 2 << 3 | 5);
                    value.extend_from_slice(&v.to_le_bytes());
                    put_bytes(&mut summary, 1, &value);
                }
                put_bytes(&mut out, 5, &summary);
            }
            What::SessionStart => {
                // SessionLog { status (field 1) = START (1) }
                put_bytes(&mut out, 7, &[1 << 3, 1]);
            }
            What::Other => {}
        }
        out
    }

    /// Parse a serialised `Event`; unknown fields are skipped, malformed ones named.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let mut ev = TbEvent {
            wall_time: 0.0,
            step: 0,
            what: What::Other,
        };
        for field in Fields(bytes) {
            match field? {
                (1, Wire::Fixed64(b)) => ev.wall_time = f64::from_le_bytes(b),
                (2, Wire::Varint(v)) => ev.step = v as i64,
                (3, Wire::Bytes(b)) => {
                    let s = std::str::from_utf8(b).map_err(|_| "file_version is not UTF-8")?;
                    ev.what = What::FileVersion(s.to_string());
                }
                (5, Wire::Bytes(b)) => ev.what = What::Scalars(decode_summary(b)?),
                (7, Wire::Bytes(b)) => {
                    for f in Fields(b) {
                        if let (1, Wire::Varint(1)) = f? {
                            ev.what = What::SessionStart;
                        }
                    }
                }
                (n @ (1 | 2 | 3 | 5 | 7), _) => {
                    return Err(format!("Event field {n} has the wrong wire type"));
                }
                _ => {}
            }
        }
        Ok(ev)
    }
}

fn decode_summary(bytes: &[u8]) -> Result<Vec<(String, f32)>, String> {
    let mut values = vec![];
    for field in Fields(bytes) {
        let (1, Wire::Bytes(b)) = field? else {
            continue;
        };
        let (mut tag, mut value) = (None, None);
        for f in Fields(b) {
            match f? {
                (1, Wire::Bytes(t)) => {
                    tag = Some(std::str::from_utf8(t).map_err(|_| "a tag is not UTF-8")?);
                }
                (2, Wire::Fixed32(v)) => value = Some(f32::from_le_bytes(v)),
                _ => {}
            }
        }
        match (tag, value) {
            (Some(t), Some(v)) => values.push((t.to_string(), v)),
            (t, _) => {
                return Err(format!(
                    "summary value {:?} has no simple_value",
                    t.unwrap_or("")
                ));
            }
        }
    }
    Ok(values)
}

/// One protobuf field's payload.
enum Wire<'a> {
    Varint(u64),
    Fixed64([u8; 8]),
    Bytes(&'a [u8]),
    Fixed32([u8; 4]),
}

/// The (field number, payload) pairs of a message, or an error for malformed input (then it ends).
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for i in 0..10 {
            let (&b, rest) = self.0.split_first().ok_or("a varint runs past the end")?;
            self.0 = rest;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err("a varint is longer than 10 bytes".into())
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], String> {
        if n > self.0.len() as u64 {
            return Err(format!(
                "a field of {n} bytes runs past the end ({} left)",
                self.0.len()
            ));
        }
        let (head, rest) = self.0.split_at(n as usize);
        self.0 = rest;
        Ok(head)
    }

    fn next_field(&mut self) -> Result<(u64, Wire<'a>), String> {
        let key = self.varint()?;
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => Wire::Fixed64(self.take(8)?.try_into().map_err(|_| "short fixed64")?),
            2 => {
                let n = self.varint()?;
                Wire::Bytes(self.take(n)?)
            }
            5 => Wire::Fixed32(self.take(4)?.try_into().map_err(|_| "short fixed32")?),
            w => return Err(format!("unsupported wire type {w}")),
        };
        Ok((key >> 3, wire))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Wire<'a>), String>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let r = self.next_field();
        if r.is_err() {
            self.0 = &[];
        }
        Some(r)
    }
}

/// Append one framed record holding `data` to `out`.
pub fn frame(data: &[u8], out: &mut Vec<u8>) {
    let len = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&mask(crc32c(&len)).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&mask(crc32c(data)).to_le_bytes());
}

/// Why a file could not be read to its end. `record` counts from 0; `offset` is where it begins.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ReadError {
    #[error(
        "record {record} at byte {offset} is cut short: it needs {needed} bytes, {have} are left"
    )]
    Truncated {
        record: usize,
        offset: usize,
        needed: u64,
        have: usize,
    },
    #[error("record {record} at byte {offset}: the CRC of its length does not match (corrupt)")]
    LengthCrc { record: usize, offset: usize },
    #[error("record {record} at byte {offset}: the CRC of its data does not match (corrupt)")]
    DataCrc { record: usize, offset: usize },
    #[error("record {record} at byte {offset} is not a TensorBoard Event: {why}")]
    Protobuf {
        record: usize,
        offset: usize,
        why: String,
    },
}

/// The records of a file that could be read, and why reading stopped early (if it did).
#[derive(Debug, PartialEq)]
pub struct Records<'a> {
    pub data: Vec<&'a [u8]>,
    pub problem: Option<ReadError>,
}

/// Split a file into its records, checking each length, both CRCs and that nothing is cut short.
pub fn read_records(bytes: &[u8]) -> Records<'_> {
    let mut data = vec![];
    let mut offset = 0usize;
    let problem = loop {
        let rest = &bytes[offset..];
        if rest.is_empty() {
            break None;
        }
        let record = data.len();
        let truncated = |needed: u64| ReadError::Truncated {
            record,
            offset,
            needed,
            have: rest.len(),
        };
        let Some((len, len_crc)) = rest.get(..8).zip(rest.get(8..12)) else {
            break Some(truncated(12));
        };
        if mask(crc32c(len)).to_le_bytes() != len_crc {
            break Some(ReadError::LengthCrc { record, offset });
        }
        // the CRC vouches for the 8 bytes, so they are the length TensorBoard wrote
        let n = u64::from_le_bytes(len.try_into().unwrap_or_default());
        let needed = n.saturating_add(16);
        if needed > rest.len() as u64 {
            break Some(truncated(needed));
        }
        let end = 12 + n as usize;
        let payload = &rest[12..end];
        if mask(crc32c(payload)).to_le_bytes() != rest[end..end + 4] {
            break Some(ReadError::DataCrc { record, offset });
        }
        data.push(payload);
        offset += end + 4;
    };
    Records { data, problem }
}

/// The events of a file that could be read, and why reading stopped early (if it did).
#[derive(Debug, PartialEq)]
pub struct EventFile {
    pub events: Vec<TbEvent>,
    pub problem: Option<ReadError>,
}

/// Decode a whole event file; stops at the first bad record and names it.
pub fn read_events(bytes: &[u8]) -> EventFile {
    let records = read_records(bytes);
    let mut events = vec![];
    let mut offset = 0usize;
    for (record, data) in records.data.iter().enumerate() {
        match TbEvent::decode(data) {
            Ok(ev) => events.push(ev),
            Err(why) => {
                return EventFile {
                    events,
                    problem: Some(ReadError::Protobuf {
                        record,
                        offset,
                        why,
                    }),
                };
            }
        }
        offset += data.len() + 16;
    }
    EventFile {
        events,
        problem: records.problem,
    }
}

/// The event files of a folder, in the order TensorBoard reads them (by name).
pub fn event_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains("tfevents"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The steps at which the event files of `dir` log scalars, as TensorBoard shows them: files in name
/// order, a session start dropping what came before it at its step or later. Unreadable files and the
/// part of a file after a bad record count for nothing.
pub fn logged_steps(dir: &Path) -> BTreeSet<i64> {
    let mut steps = BTreeSet::new();
    for path in event_files(dir).unwrap_or_default() {
        let Ok(bytes) = fs::read(&path) else { continue };
        for ev in read_events(&bytes).events {
            match ev.what {
                What::Scalars(_) => {
                    steps.insert(ev.step);
                }
                What::SessionStart => steps.retain(|&s| s < ev.step),
                What::FileVersion(_) | What::Other => {}
            }
        }
    }
    steps
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The host name as a safe file-name part.
fn host() -> String {
    super::files::safe_file_part(&gethostname::gethostname().to_string_lossy(), "localhost")
}

/// Appends events to one new event file.
pub struct EventWriter {
    path: PathBuf,
    file: io::BufWriter<fs::File>,
    buf: Vec<u8>,
}

impl EventWriter {
    /// A new file `events.out.tfevents.<unix secs>.<host>.grokscope` in `dir` (created if missing; a
    /// counter is appended when a file of that name exists), starting with the `file_version` record.
    pub fn create(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let wall_time = now_secs();
        let base = format!(
            "events.out.tfevents.{}.{}.grokscope",
            wall_time as u64,
            host()
        );
        let mut n = 1;
        let (path, file) = loop {
            // a later name sorts after the earlier ones, so TensorBoard reads them in order
            let name = match n {
                1 => base.clone(),
                n => format!("{base}.{n:04}"),
            };
            let path = dir.join(name);
            match fs::File::create_new(&path) {
                Ok(f) => break (path, f),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 9999 => n += 1,
                Err(e) => return Err(e),
            }
        };
        let mut w = EventWriter {
            path,
            file: io::BufWriter::new(file),
            buf: vec![],
        };
        w.write(&TbEvent {
            wall_time,
            step: 0,
            what: What::FileVersion(FILE_VERSION.into()),
        })?;
        w.flush()?;
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one event (buffered until [`EventWriter::flush`]).
    pub fn write(&mut self, ev: &TbEvent) -> io::Result<()> {
        self.buf.clear();
        frame(&ev.encode(), &mut self.buf);
        self.file.write_all(&self.buf)
    }

    /// Append scalars at `step`, stamped now.
    pub fn scalars(&mut self, step: u64, values: Vec<(String, f32)>) -> io::Result<()> {
        self.write(&TbEvent {
            wall_time: now_secs(),
            step: step as i64,
            what: What::Scalars(values),
        })
    }

    /// Append a session start at `step` (see [`What::SessionStart`]).
    pub fn session_start(&mut self, step: u64) -> io::Result<()> {
        self.write(&TbEvent {
            wall_time: now_secs(),
            step: step as i64,
            what: What::SessionStart,
        })
    }

    /// Push what was written to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        // the standard check value of CRC-32C (Castagnoli) for "123456789" (RFC 3720, the CRC catalogue)
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    // the formula is written as the format's description states it, not as a rotation
    #[allow(clippy::manual_rotate)]
    fn masking_matches_the_formula_and_inverts() {
        // by hand: 0xE3069283 >> 15 = 0x0001C60D, << 17 = 0x25060000 (wrapped), OR = 0x2507C60D,
        // + 0xA282EAD8 = 0xC78AB0E5
        assert_eq!(mask(0xE306_9283), 0xC78A_B0E5);
        for c in [0u32, 1, 0xE306_9283, u32::MAX, 0x8000_0000] {
            assert_eq!(mask(c), ((c >> 15) | (c << 17)).wrapping_add(0xa282_ead8));
            assert_eq!(unmask(mask(c)), c);
        }
    }

    fn sample_file() -> Vec<u8> {
        let mut out = vec![];
        for ev in [
            TbEvent {
                wall_time: 1.5e9,
                step: 0,
                what: What::FileVersion(FILE_VERSION.into()),
            },
            TbEvent {
                wall_time: 1.5e9 + 1.25,
                step: 300,
                what: What::Scalars(vec![("train/loss".into(), 0.5), ("val/acc".into(), 0.25)]),
            },
            TbEvent {
                wall_time: 1.5e9 + 2.0,
                step: 301,
                what: What::SessionStart,
            },
        ] {
            frame(&ev.encode(), &mut out);
        }
        out
    }

    #[test]
    fn framing_lengths_and_crcs_decode() {
        let bytes = sample_file();
        let r = read_records(&bytes);
        assert_eq!(r.problem, None);
        assert_eq!(r.data.len(), 3);
        // the layout by hand: 8 length bytes, 4 CRC bytes, data, 4 CRC bytes
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(n, r.data[0].len());
        let len_crc = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        assert_eq!(unmask(len_crc), crc32c(&bytes[..8]));
        let data_crc = u32::from_le_bytes(bytes[12 + n..16 + n].try_into().unwrap());
        assert_eq!(unmask(data_crc), crc32c(&bytes[12..12 + n]));
        let f = read_events(&bytes);
        assert_eq!(f.problem, None);
        assert_eq!(f.events[0].what, What::FileVersion("brain.Event:2".into()));
        assert_eq!(f.events[1].step, 300);
        assert_eq!(f.events[1].wall_time, 1.5e9 + 1.25);
        assert_eq!(
            f.events[1].what,
            What::Scalars(vec![("train/loss".into(), 0.5), ("val/acc".into(), 0.25)])
        );
        assert_eq!(f.events[2].what, What::SessionStart);
    }

    #[test]
    fn protobuf_bytes_match_a_hand_encoding() {
        // Event{wall_time: 2.0, step: 300, file_version: "v"} by the protobuf wire format by hand:
        // 0x09 + 8 bytes of the double, 0x10 + varint 300 (0xAC 0x02), 0x1A + length 1 + "v"
        let ev = TbEvent {
            wall_time: 2.0,
            step: 300,
            what: What::FileVersion("v".into()),
        };
        let mut want = vec![0x09];
        want.extend_from_slice(&2.0f64.to_le_bytes());
        want.extend_from_slice(&[0x10, 0xAC, 0x02, 0x1A, 0x01, b'v']);
        assert_eq!(ev.encode(), want);
        // summary{value{tag "a", simple_value 1.0}}: the value is 0x0A 1 "a" 0x15 + 4 bytes = 8 bytes,
        // the summary 0x0A 8 + 8 = 10 bytes: 0x2A 10 [0x0A 8 [0x0A 1 "a" 0x15 f32]]
        let ev = TbEvent {
            wall_time: 0.0,
            step: 1,
            what: What::Scalars(vec![("a".into(), 1.0)]),
        };
        let bytes = ev.encode();
        let mut tail = vec![0x2A, 10, 0x0A, 8, 0x0A, 1, b'a', 0x15];
        tail.extend_from_slice(&1.0f32.to_le_bytes());
        assert!(bytes.ends_with(&tail));
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let bytes = sample_file();
        let good = read_events(&bytes);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            let f = read_events(&bad);
            // a flip in the length or its CRC, or in the data or its CRC: either CRC disagrees (a changed
            // length that still passed would be a CRC collision, which CRC32C rules out for one flip)
            let p = f
                .problem
                .unwrap_or_else(|| panic!("flip at {i} not detected"));
            assert!(
                matches!(p, ReadError::LengthCrc { .. } | ReadError::DataCrc { .. }),
                "flip at {i}: {p}"
            );
            assert!(good.events.starts_with(&f.events));
        }
    }

    #[test]
    fn a_truncated_last_record_is_reported() {
        let bytes = sample_file();
        let whole = read_events(&bytes).events.len();
        let first_two = read_records(&bytes).data[..2]
            .iter()
            .map(|d| d.len() + 16)
            .sum::<usize>();
        for cut in [
            first_two + 1,
            first_two + 11,
            first_two + 12,
            bytes.len() - 1,
        ] {
            let f = read_events(&bytes[..cut]);
            assert_eq!(f.events.len(), whole - 1, "cut at {cut}");
            match f.problem {
                Some(ReadError::Truncated { record, offset, .. }) => {
                    assert_eq!((record, offset), (2, first_two));
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
        // garbage that claims a huge length (with a valid CRC) is reported, not allocated
        let mut huge = vec![];
        let len = u64::MAX.to_le_bytes();
        huge.extend_from_slice(&len);
        huge.extend_from_slice(&mask(crc32c(&len)).to_le_bytes());
        assert!(matches!(
            read_records(&huge).problem,
            Some(ReadError::Truncated {
                needed: u64::MAX,
                ..
            })
        ));
    }

    #[test]
    fn a_record_that_is_not_an_event_is_named() {
        let mut bytes = sample_file();
        // a well-framed record whose data is a length-delimited field running past its end
        frame(&[0x2A, 0x05, 0x00], &mut bytes);
        let f = read_events(&bytes);
        assert_eq!(f.events.len(), 3);
        assert!(
            matches!(f.problem, Some(ReadError::Protobuf { record: 3, .. })),
            "{:?}",
            f.problem
        );
    }

    #[test]
    fn the_writer_appends_readable_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = EventWriter::create(dir.path()).unwrap();
        w.scalars(7, vec![("val/acc".into(), 0.75)]).unwrap();
        w.flush().unwrap();
        let w2 = EventWriter::create(dir.path()).unwrap();
        // a second file (made in the same second, or later) gets a name that sorts after the first
        let files = event_files(dir.path()).unwrap();
        assert_eq!(files, vec![w.path().to_path_buf(), w2.path().to_path_buf()]);
        let f = read_events(&fs::read(w.path()).unwrap());
        assert_eq!(f.problem, None);
        assert_eq!(f.events.len(), 2);
        assert_eq!(f.events[0].what, What::FileVersion(FILE_VERSION.into()));
        assert_eq!(f.events[1].step, 7);
        assert_eq!(
            f.events[1].what,
            What::Scalars(vec![("val/acc".into(), 0.75)])
        );
    }

    #[test]
    fn tags_are_distinct() {
        let mut tags: Vec<&str> = Metric::ALL.iter().map(|&m| tag(m)).collect();
        tags.extend(
            [
                GrokEvent::Memorised,
                GrokEvent::Val98,
                GrokEvent::Generalised,
            ]
            .map(event_tag),
        );
        let n = tags.len();
        tags.sort();
        tags.dedup();
        assert_eq!(tags.len(), n);
    }
}
