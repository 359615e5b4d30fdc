//! The presenter view: a projector layout for a lesson. The step's text in large type, only the
//! panels the step shows, thicker lines, a zoom (the scale setting), the Okabe–Ito palette (safe for
//! every kind of colour vision), and the controls reduced to what the step needs. Keys: Space, Right
//! and PageDown go on; Left and PageUp go back; Home restarts the lesson; F toggles full screen; B
//! blanks the screen; N opens or closes the speaker notes ([`super::notes`]); Esc (or F5) leaves the
//! view.

use super::player::{LessonPlayer, Wait};
use crate::protocol::Metric;
use eframe::egui::{self, Color32, Key, Modifiers, RichText, Ui};

/// How plots draw lines: width factor and palette (set by the shell each frame, read by the plots).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Look {
    /// Line width factor (1: the normal window).
    pub line: f32,
    /// Draw series in the Okabe–Ito palette.
    pub safe_palette: bool,
    /// The presenter view is on: views leave out their own controls (toolbars, toggles).
    pub presenting: bool,
    /// A lesson is playing: it starts the runs (an empty plot does not ask for Start).
    pub lesson: bool,
}

impl Default for Look {
    fn default() -> Self {
        Look {
            line: 1.0,
            safe_palette: false,
            presenting: false,
            lesson: false,
        }
    }
}

impl Look {
    fn id() -> egui::Id {
        egui::Id::unique("grokscope-look")
    }

    /// The look in force in `ctx`.
    pub fn of(ctx: &egui::Context) -> Look {
        ctx.data(|d| d.get_temp(Self::id())).unwrap_or_default()
    }

    pub fn set(self, ctx: &egui::Context) {
        ctx.data_mut(|d| d.insert_temp(Self::id(), self));
    }
}

/// The colour of a series in the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"):
/// train in blues, validation in orange, the ablation pair in bluish green and vermillion.
pub fn okabe_ito(m: Metric) -> Color32 {
    const BLUE: Color32 = Color32::from_rgb(0, 114, 178);
    const SKY: Color32 = Color32::from_rgb(86, 180, 233);
    const ORANGE: Color32 = Color32::from_rgb(230, 159, 0);
    const GREEN: Color32 = Color32::from_rgb(0, 158, 115);
    const YELLOW: Color32 = Color32::from_rgb(240, 228, 66);
    const VERMILLION: Color32 = Color32::from_rgb(213, 94, 0);
    const PURPLE: Color32 = Color32::from_rgb(204, 121, 167);
    match m {
        Metric::TrainAcc | Metric::TrainLoss | Metric::Mse => BLUE,
        Metric::TrainAccEval | Metric::TrainLossEval | Metric::FourierIpr => SKY,
        Metric::ValAcc | Metric::ValLoss => ORANGE,
        // the excluded loss in the reddish purple too (another plot): the lessons call it magenta,
        // and vermillion beside validation's orange read as one colour (a helper's lesson audit)
        Metric::WeightNorm | Metric::ExcludedLoss | Metric::ExcludedLossFinal => PURPLE,
        Metric::Lr | Metric::RestrictedLoss | Metric::RestrictedLossFinal | Metric::Orderedness => {
            GREEN
        }
        Metric::WeightDecay => YELLOW,
        Metric::FourierGini | Metric::Sparsity => VERMILLION,
        Metric::OrderednessNull => Color32::from_gray(150),
    }
}

/// The presenter view's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Presenter {
    pub on: bool,
    /// Zoom of the whole window while on (fonts, widgets, plots).
    pub scale: f32,
    /// The scale follows the window's size ([`fit_scale`]) until the presenter sets one.
    pub fit: bool,
    /// The screen is blanked (B).
    pub blank: bool,
    /// Without a lesson, the config panel shows (the bar's Show menu); a lesson decides while it
    /// plays. Off at first: the room looks at the plots, not at the settings.
    pub config: bool,
}

impl Default for Presenter {
    fn default() -> Self {
        Presenter {
            on: false,
            scale: DESIGN_SCALE,
            fit: true,
            blank: false,
            config: false,
        }
    }
}

/// The smallest and largest presenter scale.
pub const SCALES: std::ops::RangeInclusive<f32> = 1.0..=3.0;

/// The scale the presenter view was laid out at, on a 1600 x 900 screen: 1067 x 600 points.
const DESIGN_SCALE: f32 = 1.5;
/// The points high the presenter view was laid out for (900 pixels at 1.5), and the fewest points
/// wide it is made to work in (1280 pixels at 1.5: its lesson bar's short form keeps to one line).
const DESIGN_HEIGHT: f32 = 600.0;
const NARROWEST: f32 = 853.0;

/// The presenter scale for a window `size` points large at zoom 1: the one that gives it 600 points
/// of height (as 900 pixels have at 1.5), unless that leaves it under 853 points wide, in steps of
/// 0.05, within [`SCALES`]. A projector throws any resolution onto the same wall, so text and plots
/// then take about the same share of the picture at any resolution: 1.5 at 1600 x 900, 1.2 at
/// 1280 x 720 and at 1024 x 768, 1.8 at 1920 x 1080. A fixed 1.5 left 683 x 512 points of a
/// 1024 x 768 projector, where the plots shrank to slivers and the bar wrapped.
pub fn fit_scale(size: egui::Vec2) -> f32 {
    let s = (size.y / DESIGN_HEIGHT).min(size.x / NARROWEST);
    if !s.is_finite() {
        return DESIGN_SCALE;
    }
    // (1e-3: 900 / 600 may come out a hair under 1.5)
    ((s * 20.0 + 1e-3).floor() / 20.0).clamp(*SCALES.start(), *SCALES.end())
}

/// The presenter's scale slider: moving it sets the scale by hand (no longer following the window);
/// beside it, "fit" goes back to following the window.
pub fn scale_ui(ui: &mut Ui, presenter: &mut Presenter, compact: bool) {
    // a narrow bar leaves out the slider's word and number (the hover says both)
    let slider = egui::Slider::new(&mut presenter.scale, SCALES).max_decimals(2);
    let slider = ui.add(if compact {
        slider.show_value(false)
    } else {
        slider.text("scale")
    });
    if compact {
        // still named for a screen reader (and a test)
        ui.ctx()
            .accesskit_node_builder(slider.id, |node| node.set_label("scale"));
    }
    let how = if presenter.fit {
        "it follows the window's size (the same picture at any resolution) until you set it here"
    } else {
        "as you set it"
    };
    let slider = slider.on_hover_text(format!(
        "The zoom of the presenter view, {:.2}: {how}",
        presenter.scale
    ));
    if slider.changed() {
        presenter.fit = false;
    }
    if !presenter.fit
        && ui
            .button("fit")
            .on_hover_text("Follow the window's size again")
            .clicked()
    {
        presenter.fit = true;
    }
}

/// Type sizes of the lesson text (points, before the zoom).
const TITLE_SIZE: f32 = 24.0;
const TEXT_SIZE: f32 = 19.0;

/// What the lesson's bar or keys ask.
#[derive(Clone, Debug, PartialEq)]
pub enum LessonCmd {
    None,
    Next,
    Previous,
    Restart,
    Skip,
    Close,
    /// Switch the presenter view on or off.
    Presenter,
    FullScreen,
    Blank,
    /// Open or close the speaker notes' window.
    Notes,
}

impl LessonCmd {
    pub(super) fn or(self, other: LessonCmd) -> LessonCmd {
        if self == LessonCmd::None { other } else { self }
    }
}

/// The presenter's keys (and the lesson's arrows in the normal window). Space goes on only in the
/// presenter view: in the normal window it starts and pauses runs.
pub fn keys(ctx: &egui::Context, presenter: bool, lesson: bool) -> LessonCmd {
    if ctx.egui_wants_keyboard_input() {
        return LessonCmd::None;
    }
    ctx.input_mut(|i| {
        // Shift+← → are the views' step cursor's (it takes ← → itself when no lesson plays)
        let plain = |k: Key| {
            !i.events.iter().any(|e| {
                matches!(e, egui::Event::Key { key, pressed: true, modifiers, .. }
                    if *key == k && modifiers.shift)
            })
        };
        let (right, left) = (plain(Key::ArrowRight), plain(Key::ArrowLeft));
        let mut press = |k: Key| i.consume_key(Modifiers::NONE, k);
        if press(Key::F5) || (presenter && press(Key::Escape)) {
            return LessonCmd::Presenter;
        }
        if presenter {
            if press(Key::F) {
                return LessonCmd::FullScreen;
            }
            if press(Key::B) {
                return LessonCmd::Blank;
            }
        }
        if !lesson {
            return LessonCmd::None;
        }
        if press(Key::N) {
            return LessonCmd::Notes;
        }
        if (right && press(Key::ArrowRight))
            || press(Key::PageDown)
            || (presenter && press(Key::Space))
        {
            LessonCmd::Next
        } else if (left && press(Key::ArrowLeft)) || press(Key::PageUp) {
            LessonCmd::Previous
        } else if presenter && press(Key::Home) {
            LessonCmd::Restart
        } else {
            LessonCmd::None
        }
    })
}

/// A small clock face whose hand moves on each second waited: it shows the lesson is alive without
/// asking for frames of its own (egui's spinner asks for every frame while it shows, which kept the
/// window drawing 60 frames a second through a lesson's waits, on the cores its runs train on).
fn wait_clock(ui: &mut Ui, waited: std::time::Duration) {
    let h = ui.text_style_height(&egui::TextStyle::Body);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(h, h), egui::Sense::hover());
    let c = rect.center();
    let r = 0.42 * h;
    let stroke = egui::Stroke::new(1.5, super::panels::HIGHLIGHT);
    ui.painter().circle_stroke(c, r, stroke);
    // twelve positions, one a second, from twelve o'clock
    let angle = (waited.as_secs() % 12) as f32 * std::f32::consts::TAU / 12.0;
    let tip = c + 0.75 * r * egui::vec2(angle.sin(), -angle.cos());
    ui.painter().line_segment([c, tip], stroke);
}

/// What the step waits for, in words; `short` leaves out the lab (the one on screen), for the
/// presenter view's narrow bar.
pub fn wait_text(player: &LessonPlayer, short: bool) -> Option<String> {
    let secs = player.waited().map_or(0, |d| d.as_secs());
    player.waiting().map(|w| match w {
        Wait::Event(_, m) if short => format!("until {m} ({secs} s)"),
        Wait::Event(lab, m) => format!("waiting for the {lab} lab: {m} ({secs} s)"),
        Wait::Until(_) => format!("letting it run ({secs} s)"),
    })
}

/// The lesson's bar: where it is, back, on, and the wait with its Skip.
pub fn lesson_bar_ui(
    ui: &mut Ui,
    player: &LessonPlayer,
    presenter: &mut Presenter,
    notes_open: bool,
) -> LessonCmd {
    let mut cmd = LessonCmd::None;
    // the presenter view leaves out the actions' notes unless they are errors (a class has no use
    // for "phase study started"), and a narrow one (1600 pixels of screen at the 1.5 scale are 1067
    // points, 1280 are 853) keeps the bar on one line with shorter words ("3 / 6", "↺", the wait
    // without its lab; their hovers say them whole) and a shorter slider
    let compact = presenter.on && ui.available_width() < 1200.0;
    ui.horizontal_wrapped(|ui| {
        let (i, n) = player.position();
        ui.label(RichText::new(player.title()).strong());
        ui.label(if compact {
            format!("{} / {n}", i + 1)
        } else {
            format!("step {} of {n}", i + 1)
        })
        .on_hover_text(format!("step {} of {n}", i + 1));
        if ui
            .add_enabled(i > 0, egui::Button::new("◀ Back"))
            .on_hover_text("The previous step's text and panels (Left, PageUp)")
            .clicked()
        {
            cmd = LessonCmd::Previous;
        }
        let next = if player.waiting().is_some() {
            "Skip ▶"
        } else {
            "Next ▶"
        };
        if ui
            .add_enabled(
                player.waiting().is_some() || i + 1 < n,
                egui::Button::new(next),
            )
            .on_hover_text(if presenter.on {
                "Go on (Space, Right, PageDown); while the step waits, skip the wait"
            } else {
                "Go on (Right, PageDown); while the step waits, skip the wait"
            })
            .clicked()
        {
            cmd = LessonCmd::Next;
        }
        if ui
            .button(if compact { "↺" } else { "↺ Restart" })
            .on_hover_text("Reset the lesson's labs and start from the first step (Home)")
            .clicked()
        {
            cmd = LessonCmd::Restart;
        }
        ui.separator();
        if ui
            .add(egui::Button::selectable(notes_open, "Notes"))
            .on_hover_text(
                "Speaker notes, for you alone: the step's notes, the clocks and what comes next, \
                 in a window of their own to keep on your screen (N)",
            )
            .clicked()
        {
            cmd = LessonCmd::Notes;
        }
        let label = match (presenter.on, compact) {
            (true, false) => "Leave presenter (Esc)",
            (true, true) => "Leave (Esc)",
            (false, _) => "Presenter (F5)",
        };
        if ui
            .button(label)
            .on_hover_text("The projector layout: large text, the step's panels only, thick lines")
            .clicked()
        {
            cmd = LessonCmd::Presenter;
        }
        if presenter.on {
            if compact {
                ui.spacing_mut().slider_width = 60.0;
            }
            scale_ui(ui, presenter, compact);
        }
        if ui
            .button(if compact {
                "× Close"
            } else {
                "× Close lesson"
            })
            .on_hover_text("End the lesson (its runs stay)")
            .clicked()
        {
            cmd = cmd.clone().or(LessonCmd::Close);
        }
        // the wait and the notes last: before the buttons they came and went with each wait and
        // moved Notes and Close about 170 points (a teacher's click meant for Close opened the
        // notes: a helper's lesson audit)
        if let Some(text) = wait_text(player, compact) {
            ui.separator();
            wait_clock(ui, player.waited().unwrap_or_default());
            let shown = ui.label(RichText::new(text).color(super::panels::HIGHLIGHT));
            if compact && let Some(whole) = wait_text(player, false) {
                shown.on_hover_text(whole);
            }
        }
        if let Some((is_error, note)) = player.note.as_ref().filter(|(e, _)| *e || !presenter.on) {
            ui.separator();
            let color = if *is_error {
                ui.visuals().error_fg_color
            } else {
                ui.visuals().weak_text_color()
            };
            ui.label(RichText::new(note).color(color));
        }
    });
    cmd
}

/// The step's title and text: large in the presenter view.
pub fn lesson_text_ui(ui: &mut Ui, player: &LessonPlayer, large: bool) {
    let step = player.step();
    let (title, text) = if large {
        (TITLE_SIZE, TEXT_SIZE)
    } else {
        (16.0, 14.0)
    };
    // tags after the title: a skipped wait (the text may speak of what has not happened yet); a
    // step gone back to (its views show where it ended, its curves go on past it)
    let tags = [
        (
            player.skipped_text(),
            "The step's wait was skipped: what its text describes may not have happened yet",
        ),
        (
            player.back_text(),
            "Gone back to: the views show the step where this step ended (the cursor line in the \
             plots); what the curves show past it came later",
        ),
    ];
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(&step.title).strong().size(title));
        for (tag, hover) in tags {
            if let Some(tag) = tag {
                ui.label(
                    RichText::new(format!("({tag})"))
                        .size(text * 0.85)
                        .color(ui.visuals().weak_text_color()),
                )
                .on_hover_text(hover);
            }
        }
    });
    for para in paragraphs(&step.text) {
        ui.label(RichText::new(para).size(text));
    }
}

/// A step's text (or notes) as paragraphs: the file's line breaks are for its author, a blank line
/// parts paragraphs, and each flows to the window's width.
pub(super) fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect()
}

/// The blanked screen (B): black, with how to come back.
pub fn blank_ui(ctx: &egui::Context) {
    let layer = egui::LayerId::new(egui::Order::Foreground, egui::Id::unique("presenter_blank"));
    let painter = ctx.layer_painter(layer);
    let screen = ctx.content_rect();
    painter.rect_filled(screen, 0.0, Color32::BLACK);
    painter.text(
        screen.right_bottom() - egui::vec2(12.0, 12.0),
        egui::Align2::RIGHT_BOTTOM,
        "B: back",
        egui::FontId::proportional(12.0),
        Color32::from_gray(60),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_flows_into_paragraphs() {
        let text = "Ask the room:\nwhat will the curve do?\n\n  Expect a jump.  \n\n\n";
        assert_eq!(
            paragraphs(text),
            ["Ask the room: what will the curve do?", "Expect a jump."]
        );
        assert!(paragraphs("").is_empty());
    }

    /// The scales that give each common screen the 1600 x 900 picture at 1.5 (600 points high),
    /// worked out by hand from `fit_scale`'s rule: height / 600, unless width / 853 is smaller, down
    /// to a step of 0.05, within 1.0 ..= 3.0.
    #[test]
    fn the_scale_gives_each_screen_the_designed_picture() {
        let cases = [
            ((1600.0, 900.0), 1.5),
            ((1280.0, 720.0), 1.2),
            // 4:3 XGA: 768 / 600 = 1.28, 1024 / 853 = 1.2004 (the width decides)
            ((1024.0, 768.0), 1.2),
            // 800 / 600 = 1.333 -> 1.3
            ((1280.0, 800.0), 1.3),
            ((1920.0, 1080.0), 1.8),
            // 768 / 600 = 1.28 -> 1.25
            ((1366.0, 768.0), 1.25),
            ((3840.0, 2160.0), 3.0),
            // smaller than the design at 1.0: never under the slider's least
            ((800.0, 600.0), 1.0),
        ];
        for ((w, h), want) in cases {
            let got = fit_scale(egui::vec2(w, h));
            assert!((got - want).abs() < 1e-6, "{w} x {h}: {got}, not {want}");
        }
        assert_eq!(fit_scale(egui::vec2(f32::NAN, 900.0)), DESIGN_SCALE);
    }
}
