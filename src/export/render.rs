//! A [`Figure`] to a file: SVG as written by [`super::svg`], PNG through `resvg` at any DPI, PDF
//! through `svg2pdf` with the bundled font embedded as TrueType. Beside every figure `FILE.ext` go
//! `FILE.csv` (exactly the plotted points) and `FILE.json` (the config(s) behind the figure), all in
//! the folder of `FILE` and nowhere else, each written atomically.

use super::figure::{Body, Figure, FigureSize, SeriesKind};
use super::png::{RgbaPicture, write_png_at_dpi};
use super::svg::{FONT_FAMILY, FONT_TTF, to_svg};
use super::{ExportError, write_atomically};
use resvg::usvg;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file formats a figure can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FigureFormat {
    /// A raster picture at a chosen DPI.
    Png,
    /// Vector, text as text in the bundled font's family.
    Svg,
    /// Vector, one page, the bundled font embedded as TrueType.
    Pdf,
}

impl FigureFormat {
    /// All formats, in menu order.
    pub const ALL: [FigureFormat; 3] = [FigureFormat::Png, FigureFormat::Svg, FigureFormat::Pdf];

    /// The file extension (without the dot).
    pub fn extension(self) -> &'static str {
        match self {
            FigureFormat::Png => "png",
            FigureFormat::Svg => "svg",
            FigureFormat::Pdf => "pdf",
        }
    }

    /// The format named by an extension or name (`png`, `svg`, `pdf`, any case).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.extension().eq_ignore_ascii_case(s))
    }
}

/// Screen resolution: CSS pixels per inch, what a PNG "at screen resolution" uses.
pub const SCREEN_DPI: f64 = 96.0;
/// The DPI range a PNG may be drawn at.
pub const DPI_LIMITS: (f64, f64) = (10.0, 1200.0);
/// The most pixels a PNG may have (a 40 x 40 in figure at 250 DPI).
pub const MAX_PIXELS: f64 = 1.0e8;

/// How a figure is written.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct ExportOptions {
    pub format: FigureFormat,
    pub size: FigureSize,
    /// PNG resolution (pixels per inch); ignored by SVG and PDF.
    pub dpi: f64,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            format: FigureFormat::Png,
            size: FigureSize::default(),
            dpi: SCREEN_DPI,
        }
    }
}

impl ExportOptions {
    /// Check the size and DPI.
    pub fn check(&self) -> Result<(), ExportError> {
        self.size.check().map_err(ExportError::Invalid)?;
        let (lo, hi) = DPI_LIMITS;
        if !(self.dpi.is_finite() && (lo..=hi).contains(&self.dpi)) {
            return Err(ExportError::Invalid(format!(
                "DPI {} is out of range ({lo} to {hi})",
                self.dpi
            )));
        }
        let (w, h) = self.pixel_size();
        if f64::from(w) * f64::from(h) > MAX_PIXELS {
            return Err(ExportError::Invalid(format!(
                "a {w} x {h} pixel PNG is too large (at most {MAX_PIXELS} pixels); lower the DPI or the size"
            )));
        }
        Ok(())
    }

    /// The PNG's size in pixels: the size in inches times the DPI, rounded.
    pub fn pixel_size(&self) -> (u32, u32) {
        let px = |inches: f64| (inches * self.dpi).round().clamp(1.0, f64::from(u32::MAX)) as u32;
        (px(self.size.width_in), px(self.size.height_in))
    }
}

/// usvg's options with a font database holding only the bundled font.
fn usvg_options() -> usvg::Options<'static> {
    let mut db = usvg::fontdb::Database::new();
    db.load_font_data(FONT_TTF.to_vec());
    db.set_sans_serif_family(FONT_FAMILY);
    let mut opt = usvg::Options {
        dpi: SCREEN_DPI as f32,
        font_family: FONT_FAMILY.to_string(),
        ..usvg::Options::default()
    };
    opt.fontdb = Arc::new(db);
    opt
}

fn parse(svg: &str) -> Result<usvg::Tree, ExportError> {
    usvg::Tree::from_str(svg, &usvg_options())
        .map_err(|e| ExportError::Render(format!("the figure's SVG: {e}")))
}

/// Draw SVG text as an RGBA picture `width` x `height` pixels (the SVG scaled to fill it).
pub fn svg_to_picture(svg: &str, width: u32, height: u32) -> Result<RgbaPicture, ExportError> {
    let tree = parse(svg)?;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(width, height)
        .ok_or(ExportError::Empty("a picture of zero pixels"))?;
    let size = tree.size();
    let transform = resvg::tiny_skia::Transform::from_scale(
        width as f32 / size.width(),
        height as f32 / size.height(),
    );
    resvg::render(&tree, transform, &mut pixmap.as_mut());
    let rgba = pixmap
        .pixels()
        .iter()
        .flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        })
        .collect();
    Ok(RgbaPicture {
        width,
        height,
        rgba,
    })
}

/// SVG text as PDF bytes: one page of the SVG's size, text in the bundled font embedded as TrueType.
pub fn svg_to_pdf(svg: &str) -> Result<Vec<u8>, ExportError> {
    let tree = parse(svg)?;
    svg2pdf::to_pdf(
        &tree,
        svg2pdf::ConversionOptions::default(),
        svg2pdf::PageOptions {
            dpi: SCREEN_DPI as f32,
        },
    )
    .map_err(|e| ExportError::Render(format!("PDF conversion: {e}")))
}

/// Header of the CSV beside a figure.
pub const CSV_HEADER: [&str; 5] = ["series", "x", "y", "lower", "upper"];

/// The plotted points of `fig` as CSV: one row a point, `series,x,y,lower,upper`; lines and points
/// fill `y`, bands `lower` and `upper`. A heatmap or graph writes its cells or its nodes and edges
/// instead ([`super::layer::heatmap_csv`], [`super::layer::graph_csv`]). Exactly the points the figure draws ([`super::figure::Series::plotted`]).
pub fn plotted_csv(fig: &Figure) -> Result<Vec<u8>, ExportError> {
    match &fig.body {
        Body::Plot => {}
        Body::Heatmap(h) => return super::layer::heatmap_csv(h),
        Body::Graph(g) => return super::layer::graph_csv(g),
        Body::ClassGrid(g) => return super::layer::class_grid_csv(g),
    }
    let mut w = ::csv::Writer::from_writer(vec![]);
    // a `label` column only when some series labels its points (the clock's residues), a
    // `smoothed` one only when some line is smoothed for display (`y` keeps the raw value)
    let labelled = fig.series.iter().any(|s| !s.labels.is_empty());
    let smoothed = fig.series.iter().any(|s| !s.smoothed.is_empty());
    let header = CSV_HEADER
        .iter()
        .copied()
        .chain(labelled.then_some("label"))
        .chain(smoothed.then_some("smoothed"));
    w.write_record(header)?;
    for s in &fig.series {
        for (i, p) in fig.plotted_indexed(s) {
            // the point's own y (a delay of 0 drawn at 1 epoch is written as 0: `log_zero_at`)
            let y = s.points.get(i).map_or(p[1], |q| q[1]);
            let (x, a) = (p[0].to_string(), y.to_string());
            let row = match s.kind {
                SeriesKind::Band => [s.name.clone(), x, String::new(), a, p[2].to_string()],
                SeriesKind::Line
                | SeriesKind::Points
                | SeriesKind::HollowPoints
                | SeriesKind::Rings
                | SeriesKind::Dashed
                | SeriesKind::Bars => [s.name.clone(), x, a, String::new(), String::new()],
            };
            let label = labelled.then(|| s.labels.get(i).cloned().unwrap_or_default());
            let smooth = smoothed.then(|| {
                s.smoothed_at(i, fig.y_of(s))
                    .map_or(String::new(), |v| v.to_string())
            });
            w.write_record(row.into_iter().chain(label).chain(smooth))?;
        }
    }
    w.into_inner()
        .map_err(|e| ExportError::Render(format!("CSV buffer: {e}")))
}

/// The three files of an export: the figure and its two sidecars.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportedFiles {
    pub figure: PathBuf,
    pub csv: PathBuf,
    pub json: PathBuf,
}

/// The sidecar paths of a figure file, refusing a figure path that would collide with them or has
/// no folder that exists.
pub fn exported_files(path: &Path) -> Result<ExportedFiles, ExportError> {
    let invalid = |why: String| ExportError::Invalid(why);
    let name = path
        .file_name()
        .ok_or_else(|| invalid(format!("{} names no file", path.display())))?;
    if Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("json"))
    {
        return Err(invalid(format!(
            "{} would be overwritten by its own CSV/JSON sidecar; use .png, .svg or .pdf",
            path.display()
        )));
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(invalid(format!(
            "the folder {} does not exist (create it first)",
            folder.display()
        )));
    }
    let file = folder.join(name);
    let files = ExportedFiles {
        csv: file.with_extension("csv"),
        json: file.with_extension("json"),
        figure: file,
    };
    // The figure and its sidecars replace only an earlier export's (its JSON says so): `metrics.png`
    // beside a run's `metrics.csv`, `run.pdf` beside its `run.json`, or `--out paper.pdf` over the
    // user's own PDF, must never destroy the user's data.
    let earlier_export = std::fs::read(&files.json)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v.get("grokscope_version").is_some() && v.get("figure").is_some());
    for (file, by) in [
        (&files.figure, "the figure"),
        (&files.csv, "the figure's sidecar"),
        (&files.json, "the figure's sidecar"),
    ] {
        if file.exists() && !earlier_export {
            return Err(invalid(format!(
                "{} already exists and is not from a grokscope figure export: it would be \
                 overwritten by {by}; choose another file name",
                file.display()
            )));
        }
    }
    Ok(files)
}

fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    write_atomically(path, |w: &mut dyn Write| {
        w.write_all(bytes).map_err(|source| ExportError::Io {
            path: path.to_path_buf(),
            error: source,
        })
    })
}

/// Write `fig` to `path` in `opts`' format and size, with `FILE.csv` (the plotted points) and
/// `FILE.json` (`configs`, the config(s) behind the figure, with the figure's name, title, notes,
/// markers, export settings and its [`Figure::data`], if any) beside it. Writes only those three files, in the folder of `path`, which must exist.
pub fn write_figure(
    path: &Path,
    fig: &Figure,
    opts: &ExportOptions,
    configs: &serde_json::Value,
) -> Result<ExportedFiles, ExportError> {
    opts.check()?;
    let files = exported_files(path)?;
    let svg = to_svg(fig, opts.size);
    // render first: a failure leaves no file behind
    match opts.format {
        FigureFormat::Svg => write_bytes(&files.figure, svg.as_bytes())?,
        FigureFormat::Pdf => write_bytes(&files.figure, &svg_to_pdf(&svg)?)?,
        FigureFormat::Png => {
            let (w, h) = opts.pixel_size();
            write_png_at_dpi(&files.figure, &svg_to_picture(&svg, w, h)?, opts.dpi)?;
        }
    }
    write_bytes(&files.csv, &plotted_csv(fig)?)?;
    let mut meta = serde_json::json!({
        "figure": fig.name,
        "title": fig.title,
        "format": opts.format,
        "width_in": opts.size.width_in,
        "height_in": opts.size.height_in,
        "dpi": match opts.format {
            FigureFormat::Png => Some(opts.dpi),
            FigureFormat::Svg | FigureFormat::Pdf => None,
        },
        "grokscope_version": env!("CARGO_PKG_VERSION"),
        // the figure's words beside its points: its notes, and its vertical lines (a value such as
        // P* that the CSV's points do not hold, or the note that says why there is none)
        "notes": fig.notes,
        // what a paper's caption says of the figure, kept off its face (see `Figure::caption`)
        "caption": fig.caption,
        "markers": fig
            .markers
            .iter()
            .map(|m| serde_json::json!({"x": m.x, "label": m.label}))
            .collect::<Vec<_>>(),
        "config": configs,
    });
    if let Some(y2) = &fig.y2 {
        // which curves the right-hand axis carries (the CSV's `y` is in that axis' unit for them)
        meta["y_right"] = serde_json::json!({
            "label": y2.label,
            "log": y2.log,
            "series": fig
                .series
                .iter()
                .filter(|s| fig.on_right(s))
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>(),
        });
    }
    if !fig.spans.is_empty() {
        // the shaded stretches of x and their names (the crossing figure's regimes), which the
        // CSV's points do not hold
        meta["spans"] = serde_json::json!(
            fig.spans
                .iter()
                .map(|sp| serde_json::json!({"from": sp.lo, "to": sp.hi, "label": sp.label}))
                .collect::<Vec<_>>()
        );
    }
    if !fig.data.is_empty() {
        meta["data"] = serde_json::Value::Object(fig.data.clone());
    }
    let text = serde_json::to_string_pretty(&meta)
        .map_err(|e| ExportError::Render(format!("JSON: {e}")))?;
    write_bytes(&files.json, text.as_bytes())?;
    Ok(files)
}

/// A figure name made safe as a file stem: letters, digits, `-` and `_` kept, anything else
/// (separators, dots, spaces) becomes `_`, so `..` or `/` in a name can never leave the folder.
pub fn file_stem(name: &str) -> String {
    safe_file_part(name, "figure")
}

pub use crate::store::files::safe_file_part;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::figure::{Axis, Series};

    #[test]
    fn the_bundled_font_parses_and_is_dejavu_sans() {
        let face = ttf_parser::Face::parse(FONT_TTF, 0).expect("a TrueType font");
        let family = face
            .names()
            .into_iter()
            .filter(|n| n.name_id == ttf_parser::name_id::FAMILY)
            .find_map(|n| n.to_string());
        assert_eq!(family.as_deref(), Some(FONT_FAMILY));
    }

    #[test]
    fn pixel_size_is_inches_times_dpi() {
        // 3.5 x 2.8 in at 300 DPI: 1050 x 840 (by hand)
        let o = ExportOptions {
            dpi: 300.0,
            ..ExportOptions::default()
        };
        assert_eq!(o.pixel_size(), (1050, 840));
        assert!(o.check().is_ok());
        assert!(ExportOptions { dpi: 0.0, ..o }.check().is_err());
        assert!(ExportOptions { dpi: f64::NAN, ..o }.check().is_err());
    }

    #[test]
    fn text_is_drawn_with_the_bundled_font() {
        // a figure with only a title: dark pixels appear only if the text found a font
        let f = Figure::new("t", "Title text", Axis::linear("x"), Axis::linear("y"));
        let pic = svg_to_picture(&to_svg(&f, FigureSize::default()), 336, 269).unwrap();
        let dark_in_title_strip = pic.rgba[..336 * 4 * 14]
            .chunks(4)
            .filter(|p| p[0] < 100)
            .count();
        assert!(
            dark_in_title_strip > 20,
            "{dark_in_title_strip} dark title pixels"
        );
    }

    #[test]
    fn csv_holds_the_plotted_points() {
        let mut f = Figure::new("t", "", Axis::linear("x"), Axis::log("y"));
        f.series.push(Series::new(
            "a,b",
            [0, 0, 0],
            SeriesKind::Line,
            vec![[1.0, 0.5], [2.0, 0.0], [3.0, 0.25]],
        ));
        f.series
            .push(Series::band("band", [0, 0, 0], &[[1.0, 0.1, 0.2]]));
        let text = String::from_utf8(plotted_csv(&f).unwrap()).unwrap();
        // y = 0 cannot be drawn on the log axis and is not in the CSV
        assert_eq!(
            text,
            "series,x,y,lower,upper\n\"a,b\",1,0.5,,\n\"a,b\",3,0.25,,\nband,1,,0.1,0.2\n"
        );
    }

    #[test]
    fn stems_cannot_climb_out() {
        assert_eq!(file_stem("../../etc/passwd"), "______etc_passwd");
        assert_eq!(file_stem("crossing_p31"), "crossing_p31");
        assert_eq!(file_stem(""), "figure");
    }
}
