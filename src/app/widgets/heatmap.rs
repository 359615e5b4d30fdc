//! A heatmap of a small matrix, painted as one mesh, with row and column labels, a colour bar, an
//! optional value written in each cell, and a hover read-out of the cell under the pointer.

use super::{diverging, text_on};
use crate::store::ordering_layout::{self, bar_label};
use eframe::egui::{
    self, Align2, Color32, FontId, Mesh, Pos2, Rect, Response, Sense, Shape, Stroke, Ui, Vec2,
    epaint, pos2, vec2,
};

/// How values map to colours.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scale {
    /// Centred at zero, from -max_abs (red) to +max_abs (blue); the colour bar is titled
    /// `quantity` (what the colour is: a signed value, such as a layer's weight w_ij).
    Diverging {
        max_abs: f64,
        quantity: &'static str,
    },
    /// From lo (dark) to hi (bright).
    Sequential { lo: f64, hi: f64 },
}

impl Scale {
    pub fn color(self, v: f64) -> Color32 {
        match self {
            Scale::Diverging { max_abs, .. } => diverging(v / max_abs.max(f64::MIN_POSITIVE)),
            Scale::Sequential { lo, hi } => {
                super::color(ordering_layout::sequential_value(v, lo, hi))
            }
        }
    }

    /// The colour bar's title ("" for none).
    fn quantity(self) -> &'static str {
        match self {
            Scale::Diverging { quantity, .. } => quantity,
            Scale::Sequential { .. } => "",
        }
    }

    fn ends(self) -> (f64, f64) {
        match self {
            Scale::Diverging { max_abs, .. } => (-max_abs, max_abs),
            Scale::Sequential { lo, hi } => (lo, hi),
        }
    }
}

/// What to draw. The closures are asked for each visible cell every frame.
pub struct HeatmapSpec<'a> {
    pub rows: usize,
    pub cols: usize,
    /// The cell's value, or `None` for an empty cell (pruned, or no data yet).
    pub value: &'a dyn Fn(usize, usize) -> Option<f64>,
    pub row_label: &'a dyn Fn(usize) -> String,
    pub col_label: &'a dyn Fn(usize) -> String,
    /// The read-out when the pointer is over a cell.
    pub hover: &'a dyn Fn(usize, usize) -> String,
    pub scale: Scale,
    /// Write each value in its cell (when the cells are large enough).
    pub write_values: bool,
    /// Leave a gap before this column (e.g. where the inputs start).
    pub gap_before_col: Option<usize>,
    /// Draw the main diagonal of the square part.
    pub diagonal: bool,
    /// Largest cell side, in points.
    pub max_cell: f32,
    /// Square cells (a matrix), or as wide and as tall as the area allows each way (a history: steps
    /// along, frequencies down).
    pub square: bool,
    /// A column outlined (the step the views show).
    pub marked_col: Option<usize>,
    /// Axis titles: along the rows (left) and the columns (top).
    pub row_title: &'a str,
    pub col_title: &'a str,
}

/// The labels' size in the window, in points; the room below is for it.
const LABEL_SIZE: f32 = 11.0;
const LABEL_W: f32 = 34.0;
const TITLE: f32 = 16.0;
const BAR_W: f32 = 12.0;
const BAR_LABELS_W: f32 = 44.0;
const GAP: f32 = 6.0;

/// Where the grid's cells lie inside the widget.
#[derive(Clone, Copy, Debug)]
struct Grid {
    origin: Pos2,
    cell_w: f32,
    cell_h: f32,
    rows: usize,
    cols: usize,
    gap_before: Option<usize>,
}

impl Grid {
    fn col_x(&self, c: usize) -> f32 {
        let gap = match self.gap_before {
            Some(g) if c >= g => GAP,
            Some(_) | None => 0.0,
        };
        self.origin.x + c as f32 * self.cell_w + gap
    }

    fn cell_rect(&self, r: usize, c: usize) -> Rect {
        let min = pos2(self.col_x(c), self.origin.y + r as f32 * self.cell_h);
        Rect::from_min_size(min, vec2(self.cell_w, self.cell_h))
    }

    fn width(&self) -> f32 {
        self.col_x(self.cols) - self.origin.x
    }

    fn height(&self) -> f32 {
        self.rows as f32 * self.cell_h
    }

    /// The cell under `p`, if any.
    fn cell_at(&self, p: Pos2) -> Option<(usize, usize)> {
        let r = ((p.y - self.origin.y) / self.cell_h).floor();
        if r < 0.0 || r >= self.rows as f32 {
            return None;
        }
        (0..self.cols)
            .find(|&c| {
                let x = self.col_x(c);
                p.x >= x && p.x < x + self.cell_w
            })
            .map(|c| (r as usize, c))
    }
}

/// The cells' width and height for `rows` x `cols` cells in `avail` points: as large as fits, at most
/// `max_cell`, equal when `square`. Whole points where a cell is 2 points or more (crisp edges); below
/// that (more cells than points: a long history, a large p) fractional, so the grid still fits.
fn cell_size(avail: Vec2, rows: usize, cols: usize, max_cell: f32, square: bool) -> (f32, f32) {
    let max_cell = max_cell.max(1.0);
    // a sliver of room still draws something rather than nothing or a negative size
    let fit = |room: f32, n: usize| (room.max(1.0) / n.max(1) as f32).min(max_cell);
    let (w, h) = (fit(avail.x, cols), fit(avail.y, rows));
    let (w, h) = if square { (w.min(h), w.min(h)) } else { (w, h) };
    let whole = |c: f32| if c >= 2.0 { c.floor() } else { c };
    (whole(w), whole(h))
}

/// Draw the heatmap in a `size` area. Returns the hover response of the whole area.
pub fn heatmap_ui(ui: &mut Ui, spec: &HeatmapSpec<'_>, size: Vec2) -> Response {
    let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
    if spec.rows == 0 || spec.cols == 0 || !ui.is_rect_visible(rect) {
        return response;
    }
    let gaps = if spec.gap_before_col.is_some() {
        GAP
    } else {
        0.0
    };
    // labels in the body's size in the presenter view (read from the back of a room), and the room
    // for them in proportion
    let label_font = label_font(ui);
    let k = label_font.size / LABEL_SIZE;
    // the bar's title is written upwards right of its labels: a line's height
    let bar_title_w = if spec.scale.quantity().is_empty() {
        0.0
    } else {
        label_font.size * 1.5
    };
    let (label_w, title, bar_labels_w) = (LABEL_W * k, TITLE * k, BAR_LABELS_W * k + bar_title_w);
    let avail_w = rect.width() - label_w - title - BAR_W - bar_labels_w - 2.0 * GAP - gaps;
    let avail_h = rect.height() - 2.0 * title - 2.0;
    let (cell_w, cell_h) = cell_size(
        vec2(avail_w, avail_h),
        spec.rows,
        spec.cols,
        spec.max_cell,
        spec.square,
    );
    let cell = cell_w.min(cell_h);
    let mut grid = Grid {
        origin: Pos2::ZERO,
        cell_w,
        cell_h,
        rows: spec.rows,
        cols: spec.cols,
        gap_before: spec.gap_before_col,
    };
    // centre the grid and its bar in the area
    let block_w = label_w + title + grid.width() + GAP + BAR_W + bar_labels_w;
    let left = rect.left() + ((rect.width() - block_w) / 2.0).max(0.0);
    let top = rect.top() + 2.0 * title;
    grid.origin = pos2(left + title + label_w, top);

    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    let empty_fill = visuals.extreme_bg_color;
    let weak = visuals.weak_text_color();
    let text = visuals.text_color();
    let font = FontId::proportional((cell * 0.4).clamp(9.0, 13.0));

    let mut mesh = Mesh::default();
    mesh.reserve_triangles(2 * spec.rows * spec.cols);
    mesh.reserve_vertices(4 * spec.rows * spec.cols);
    let inner = if cell >= 6.0 { 0.5 } else { 0.0 };
    for r in 0..spec.rows {
        for c in 0..spec.cols {
            let fill = (spec.value)(r, c).map_or(empty_fill, |v| spec.scale.color(v));
            mesh.add_colored_rect(grid.cell_rect(r, c).shrink(inner), fill);
        }
    }
    painter.add(Shape::mesh(mesh));

    // empty cells get a dot; values are written when there is room
    let write = spec.write_values && cell >= 26.0;
    for r in 0..spec.rows {
        for c in 0..spec.cols {
            let at = grid.cell_rect(r, c).center();
            match (spec.value)(r, c) {
                None if cell >= 8.0 => {
                    painter.circle_filled(at, 1.5, weak);
                }
                None => {}
                Some(v) if write => {
                    let bg = spec.scale.color(v);
                    painter.text(
                        at,
                        Align2::CENTER_CENTER,
                        format!("{v:.2}"),
                        font.clone(),
                        text_on(bg),
                    );
                }
                Some(_) => {}
            }
        }
    }
    if spec.diagonal {
        let n = spec.rows.min(spec.cols);
        let a = grid.cell_rect(0, 0).left_top();
        let b = grid.cell_rect(n - 1, n - 1).right_bottom();
        painter.line_segment([a, b], Stroke::new(1.0, weak.gamma_multiply(0.7)));
    }

    if let Some(c) = spec.marked_col.filter(|&c| c < spec.cols) {
        let column = grid
            .cell_rect(0, c)
            .union(grid.cell_rect(spec.rows - 1, c))
            .expand2(vec2(1.0, 2.0));
        painter.rect_stroke(
            column,
            0.0,
            Stroke::new(1.5, visuals.strong_text_color()),
            egui::StrokeKind::Outside,
        );
    }

    // labels: thinned so they do not overlap
    let every = ((14.0 * k / cell_h).ceil() as usize).max(1);
    for r in (0..spec.rows).step_by(every) {
        let y = grid.cell_rect(r, 0).center().y;
        painter.text(
            pos2(grid.origin.x - 4.0, y),
            Align2::RIGHT_CENTER,
            (spec.row_label)(r),
            label_font.clone(),
            weak,
        );
    }
    // column labels are side by side: thinned by the widest one's width (steps run to 5 digits)
    let widest = (0..spec.cols)
        .map(|c| {
            painter
                .layout_no_wrap((spec.col_label)(c), label_font.clone(), weak)
                .size()
                .x
        })
        .fold(0.0, f32::max);
    let every_col = (((widest + 8.0) / cell_w).ceil() as usize).max(1);
    for c in (0..spec.cols).step_by(every_col) {
        let x = grid.cell_rect(0, c).center().x;
        painter.text(
            pos2(x, grid.origin.y - 3.0),
            Align2::CENTER_BOTTOM,
            (spec.col_label)(c),
            label_font.clone(),
            weak,
        );
    }
    painter.text(
        pos2(grid.origin.x + grid.width() / 2.0, rect.top()),
        Align2::CENTER_TOP,
        spec.col_title,
        label_font.clone(),
        text,
    );
    // the row title, written vertically letter by letter would be unreadable: put it at the top left
    painter.text(
        pos2(left, grid.origin.y - 3.0),
        Align2::LEFT_BOTTOM,
        spec.row_title,
        label_font.clone(),
        text,
    );

    colour_bar(&painter, spec.scale, &grid, &label_font, weak);
    bar_title(
        &painter,
        spec.scale.quantity(),
        &grid,
        BAR_LABELS_W * k + bar_title_w / 2.0,
        &label_font,
        text,
    );

    let mut response = response;
    if let Some(p) = response.hover_pos()
        && let Some((r, c)) = grid.cell_at(p)
    {
        painter.rect_stroke(
            grid.cell_rect(r, c),
            0.0,
            Stroke::new(1.5, visuals.strong_text_color()),
            egui::StrokeKind::Outside,
        );
        response = response.on_hover_text_at_pointer((spec.hover)(r, c));
    }
    response
}

/// The labels' font: `LABEL_SIZE` in the window, the body's size when that is larger in the presenter view.
pub fn label_font(ui: &Ui) -> FontId {
    let presenting = crate::app::teach::presenter::Look::of(ui.ctx()).presenting;
    let body = egui::TextStyle::Body.resolve(ui.style()).size;
    FontId::proportional(if presenting {
        body.max(LABEL_SIZE)
    } else {
        LABEL_SIZE
    })
}

/// A vertical bar right of the grid, its ends and middle labelled.
fn colour_bar(painter: &egui::Painter, scale: Scale, grid: &Grid, font: &FontId, color: Color32) {
    const STEPS: usize = ordering_layout::BAR_STEPS;
    let x = grid.origin.x + grid.width() + GAP;
    let (top, h) = (grid.origin.y, grid.height().max(24.0));
    let (lo, hi) = scale.ends();
    let mut mesh = Mesh::default();
    for i in 0..STEPS {
        // top is the high end
        let v = ordering_layout::bar_step_value(lo, hi, i);
        let y0 = top + h * i as f32 / STEPS as f32;
        let y1 = top + h * (i + 1) as f32 / STEPS as f32;
        mesh.add_colored_rect(
            Rect::from_min_max(pos2(x, y0), pos2(x + BAR_W, y1 + 0.5)),
            scale.color(v),
        );
    }
    painter.add(Shape::mesh(mesh));
    let lx = x + BAR_W + 3.0;
    for (v, y, align) in [
        (hi, top, Align2::LEFT_TOP),
        ((lo + hi) / 2.0, top + h / 2.0, Align2::LEFT_CENTER),
        (lo, top + h, Align2::LEFT_BOTTOM),
    ] {
        painter.text(pos2(lx, y), align, bar_label(v), font.clone(), color);
    }
}

/// The colour bar's title `quantity`, written upwards and centred on the bar, its middle `offset`
/// right of the bar; in a smaller size (down to 8 points) where the bar is shorter than the text.
fn bar_title(
    painter: &egui::Painter,
    quantity: &str,
    grid: &Grid,
    offset: f32,
    font: &FontId,
    color: Color32,
) {
    if quantity.is_empty() {
        return;
    }
    let h = grid.height().max(24.0);
    let mut galley = painter.layout_no_wrap(quantity.to_string(), font.clone(), color);
    if galley.size().x > h {
        let size = (font.size * h / galley.size().x).max(8.0);
        let smaller = FontId::new(size, font.family.clone());
        galley = painter.layout_no_wrap(quantity.to_string(), smaller, color);
    }
    let centre = pos2(
        grid.origin.x + grid.width() + GAP + BAR_W + offset,
        grid.origin.y + h / 2.0,
    );
    let shape = epaint::TextShape::new(centre - galley.size() / 2.0, galley, color)
        .with_angle_and_anchor(-std::f32::consts::FRAC_PI_2, Align2::CENTER_CENTER);
    painter.add(shape);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::widgets::sequential;

    #[test]
    fn cells_are_found_across_the_gap() {
        let grid = Grid {
            origin: pos2(100.0, 50.0),
            cell_w: 10.0,
            cell_h: 10.0,
            rows: 2,
            cols: 4,
            gap_before: Some(3),
        };
        assert_eq!(grid.cell_at(pos2(101.0, 51.0)), Some((0, 0)));
        assert_eq!(grid.cell_at(pos2(129.0, 69.0)), Some((1, 2)));
        // the gap (130..136) is no cell; the fourth column starts after it
        assert_eq!(grid.cell_at(pos2(133.0, 55.0)), None);
        assert_eq!(grid.cell_at(pos2(137.0, 55.0)), Some((0, 3)));
        assert_eq!(grid.cell_at(pos2(137.0, 71.0)), None);
        assert_eq!(grid.width(), 46.0);
    }

    /// The labels are the body's size in the presenter view (egui's body style is 12.5 points, above
    /// the window's 11), and the window's own size otherwise.
    #[test]
    fn labels_are_body_sized_in_the_presenter_view() {
        use crate::app::teach::presenter::Look;
        let ctx = egui::Context::default();
        let size = |ctx: &egui::Context| {
            let mut got = 0.0;
            let mut out = ctx.run_ui(egui::RawInput::default(), |ui| got = label_font(ui).size);
            // (the frame's font atlas is not painted anywhere: dropped on purpose)
            out.textures_delta.clear();
            got
        };
        assert_eq!(size(&ctx), LABEL_SIZE);
        Look {
            presenting: true,
            ..Look::default()
        }
        .set(&ctx);
        let body = egui::TextStyle::Body.resolve(&ctx.global_style()).size;
        assert!(body > LABEL_SIZE, "egui's body style is {body}");
        assert_eq!(size(&ctx), body);
    }

    /// Cells fit the room whatever the count: a history of 158 snapshots in 220 points (the spectrum
    /// history of the paper transformer's CPU run: 2-point cells drew 316 points and pushed the
    /// colour bar off the panel) and a p = 1009 spectrum's 504 rows in 200.
    #[test]
    fn cells_fit_the_room_whatever_the_count() {
        let room = vec2(220.0, 200.0);
        for (rows, cols) in [(23, 158), (504, 80), (48, 80), (3, 2), (1009, 1009)] {
            for square in [false, true] {
                let (w, h) = cell_size(room, rows, cols, 8.0, square);
                assert!(w > 0.0 && h > 0.0);
                assert!(w * cols as f32 <= room.x + 1e-3, "{rows}x{cols}: {w} wide");
                assert!(h * rows as f32 <= room.y + 1e-3, "{rows}x{cols}: {h} tall");
                assert!(w <= 8.0 && h <= 8.0);
                if square {
                    assert_eq!(w, h);
                }
            }
        }
        // a history uses the room each way: 220 / 158 = 1.39 points along, 8 (the largest) down
        let (w, h) = cell_size(room, 23, 158, 8.0, false);
        assert!((w - 220.0 / 158.0).abs() < 1e-4 && h == 8.0, "{w} x {h}");
        // 2 points or more are whole points: 220 / 80 = 2.75 -> 2
        assert_eq!(cell_size(room, 48, 80, 8.0, false), (2.0, 4.0));
    }

    /// The texts a heatmap of `scale` paints, with their angles.
    fn painted_texts(scale: Scale) -> Vec<(String, f32)> {
        let ctx = egui::Context::default();
        let value = |_: usize, c: usize| Some(c as f64 - 1.0);
        let label = |i: usize| i.to_string();
        let hover = |_: usize, _: usize| String::new();
        let spec = HeatmapSpec {
            rows: 3,
            cols: 3,
            value: &value,
            row_label: &label,
            col_label: &label,
            hover: &hover,
            scale,
            write_values: false,
            gap_before_col: None,
            diagonal: true,
            max_cell: 44.0,
            square: true,
            marked_col: None,
            row_title: "receiver",
            col_title: "sender",
        };
        let mut out = ctx.run_ui(egui::RawInput::default(), |ui| {
            let _ = heatmap_ui(ui, &spec, vec2(400.0, 300.0));
        });
        out.textures_delta.clear();
        out.shapes
            .into_iter()
            .filter_map(|c| match c.shape {
                Shape::Text(t) => Some((t.galley.text().to_string(), t.angle)),
                _ => None,
            })
            .collect()
    }

    /// A diverging scale's bar is titled with its quantity, written upwards along it (-90
    /// degrees); a sequential one (no quantity) draws no such title.
    #[test]
    fn the_colour_bar_names_its_quantity() {
        let texts = painted_texts(Scale::Diverging {
            max_abs: 1.0,
            quantity: "weight w_ij",
        });
        let title: Vec<_> = texts.iter().filter(|(t, _)| t == "weight w_ij").collect();
        assert_eq!(title.len(), 1, "{texts:?}");
        assert!((title[0].1 + std::f32::consts::FRAC_PI_2).abs() < 1e-6);
        // the bar's end labels are still there: -1, 0 and 1
        for end in ["-1.00", "0", "1.00"] {
            assert!(texts.iter().any(|(t, _)| t == end), "{end}: {texts:?}");
        }
        let plain = painted_texts(Scale::Sequential { lo: 0.0, hi: 1.0 });
        assert!(plain.iter().all(|(_, a)| *a == 0.0), "{plain:?}");
    }

    #[test]
    fn scale_ends() {
        let s = Scale::Diverging {
            max_abs: 2.0,
            quantity: "w",
        };
        assert_eq!(s.color(2.0), super::super::POSITIVE);
        assert_eq!(s.color(-4.0), super::super::NEGATIVE);
        let q = Scale::Sequential { lo: 0.0, hi: 1.0 };
        assert_eq!(q.color(0.5), sequential(0.5));
        // a degenerate range draws the middle colour rather than dividing by zero
        let flat = Scale::Sequential { lo: 1.0, hi: 1.0 };
        assert_eq!(flat.color(1.0), sequential(0.5));
    }
}
