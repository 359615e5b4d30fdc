//! The plotted series as CSV, long format.
//!
//! One row per plotted point: `series,step,epoch,value`, where `series` is the metric's key
//! ([`crate::protocol::Metric::key`], e.g. `val_acc`) and `value` the real (un-logged) value. Series
//! come in the order given, each in step order. Long format because the series are logged at
//! different steps (evaluation metrics only on evaluation epochs): a wide table would be mostly empty.
//! Non-finite values are written as `NaN`, `inf` or `-inf`.

use super::{ExportError, write_atomically};
use crate::store::SeriesTable;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// The header row.
pub const HEADER: [&str; 4] = ["series", "step", "epoch", "value"];

#[derive(Serialize)]
struct Row<'a> {
    series: &'a str,
    step: u64,
    epoch: u64,
    value: f64,
}

/// Write `table` as CSV to `w`.
pub fn write_csv_to(w: impl Write, table: &SeriesTable) -> Result<(), ExportError> {
    let mut out = ::csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(w);
    out.write_record(HEADER)?;
    for (metric, points) in &table.series {
        for p in points {
            out.serialize(Row {
                series: metric.key(),
                step: p.step,
                epoch: p.epoch,
                value: p.value,
            })?;
        }
    }
    out.flush().map_err(::csv::Error::from)?;
    Ok(())
}

/// Write `table` as CSV to `path` (atomically).
pub fn write_csv(path: &Path, table: &SeriesTable) -> Result<(), ExportError> {
    write_atomically(path, |w| write_csv_to(w, table))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Metric;
    use crate::store::Point;

    fn p(step: u64, epoch: u64, value: f64) -> Point {
        Point { step, epoch, value }
    }

    #[test]
    fn long_format_rows_in_series_then_step_order() {
        let table = SeriesTable {
            series: vec![
                (Metric::ValAcc, vec![p(10, 1, 0.25), p(20, 2, 1.0)]),
                (Metric::TrainLoss, vec![p(10, 1, 4.5)]),
                (Metric::WeightNorm, vec![]),
            ],
        };
        let mut buf = Vec::new();
        write_csv_to(&mut buf, &table).unwrap();
        // expected text written by hand from the table above
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "series,step,epoch,value\nval_acc,10,1,0.25\nval_acc,20,2,1.0\ntrain_loss,10,1,4.5\n"
        );
    }

    #[test]
    fn values_round_trip_and_file_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.csv");
        let v = [0.1 + 0.2, 1e-300, f64::NAN, 123_456_789.125];
        let table = SeriesTable {
            series: vec![(
                Metric::TrainLoss,
                v.iter()
                    .enumerate()
                    .map(|(i, &x)| p(i as u64, 0, x))
                    .collect(),
            )],
        };
        write_csv(&path, &table).unwrap();
        let mut r = ::csv::Reader::from_path(&path).unwrap();
        let back: Vec<f64> = r
            .records()
            .map(|rec| rec.unwrap()[3].parse().unwrap())
            .collect();
        assert_eq!(back[0], v[0]);
        assert_eq!(back[1], v[1]);
        assert!(back[2].is_nan());
        assert_eq!(back[3], v[3]);
    }
}
