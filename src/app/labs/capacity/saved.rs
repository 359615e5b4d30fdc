//! The Capacity tab's Saved sweeps list: the folders of the window's sweeps folder (where each sweep
//! started in the window writes), read on a job thread ([`list_saved`]) when the section opens, when
//! a sweep starts or ends, after a removal and on Refresh (never on a frame), with Open and a
//! confirmed Remove on each row.

use super::views::CapacityAction;
use crate::app::widgets::form::error_color;
use crate::store::files::utc_stamp;
use crate::store::sweep_dir::{SavedSweep, size_text};
use eframe::egui::{self, RichText, Ui};
use std::path::{Path, PathBuf};

/// Label of the button that reads the sweeps folder again.
pub const REFRESH: &str = "Refresh";
/// Label of a row's button that asks to remove its folder.
pub const REMOVE_ASK: &str = "Remove…";
/// Label of the confirmation's button that removes the folder.
pub const REMOVE: &str = "Remove from disk";
/// Label of the confirmation's button that keeps it.
pub const KEEP: &str = "Keep";
/// The section's title.
pub const TITLE: &str = "Saved sweeps";

/// What the list knows of the sweeps folder.
#[derive(Clone, Debug, Default)]
pub struct SavedList {
    /// The folders last read, or why the sweeps folder could not be read; `None`: not read yet.
    pub listing: Option<Result<Vec<SavedSweep>, String>>,
    /// A read is under way.
    pub scanning: bool,
    /// Another read was asked for while one was under way (it starts when that one answers).
    pub again: bool,
    /// The folder whose removal waits for a confirmation.
    pub confirm: Option<PathBuf>,
    /// The confirmation was just asked for: the list scrolls to show it (under a row at the list's
    /// foot it was out of sight).
    pub confirm_new: bool,
    /// Whether the section was open on the last frame (opening it reads the folder again).
    pub was_open: bool,
}

impl SavedList {
    /// The folder of the list at `dir`, as last read.
    pub fn find(&self, dir: &Path) -> Option<&SavedSweep> {
        match &self.listing {
            Some(Ok(list)) => list.iter().find(|s| s.dir == dir),
            Some(Err(_)) | None => None,
        }
    }
}

/// What the section needs to know of the lab besides the list.
pub struct SavedPanel<'a> {
    /// The sweeps folder (`None`: the window has no data folder).
    pub root: Option<&'a Path>,
    /// The folder of the sweep shown.
    pub shown: Option<&'a Path>,
    /// The folder a sweep of this window is writing (or about to).
    pub writing: Option<&'a Path>,
    /// A folder is being read, saved or removed, or a dialog asks for one.
    pub busy: bool,
}

/// When a sweep started, as a row says it: `2026-12-07 15:32 UTC`.
fn when_text(secs: Option<u64>) -> String {
    match secs {
        // `2026-12-07_15-32-26`: the date, and the time to the minute
        Some(s) => {
            let stamp = utc_stamp(s);
            let (date, time) = stamp.split_once('_').unwrap_or((&stamp, ""));
            format!(
                "{date} {} UTC",
                time.get(..5).unwrap_or(time).replace('-', ":")
            )
        }
        None => "time unknown".into(),
    }
}

/// The Saved sweeps section; the action a click asks for.
pub fn saved_ui(ui: &mut Ui, list: &mut SavedList, panel: &SavedPanel<'_>) -> CapacityAction {
    let mut action = CapacityAction::None;
    let count = match &list.listing {
        Some(Ok(l)) => format!(" ({})", l.len()),
        Some(Err(_)) | None => String::new(),
    };
    let r = egui::CollapsingHeader::new(RichText::new(format!("{TITLE}{count}")).strong())
        .id_salt("capacity_saved_sweeps")
        .default_open(true)
        .show(ui, |ui| rows_ui(ui, list, panel));
    let open = r.body_returned.is_some();
    if let Some(a) = r.body_returned {
        action = a;
    }
    if open {
        list.confirm_new = false;
    }
    // opened (or shown for the first time): read the folder again
    if open && !list.was_open && action == CapacityAction::None {
        action = CapacityAction::RefreshSaved;
    }
    list.was_open = open;
    action
}

fn rows_ui(ui: &mut Ui, list: &SavedList, panel: &SavedPanel<'_>) -> CapacityAction {
    let mut action = CapacityAction::None;
    let Some(root) = panel.root else {
        ui.label(
            RichText::new("This window has no data folder: its sweeps are kept by Save sweep as…")
                .small()
                .weak(),
        );
        return action;
    };
    ui.horizontal(|ui| {
        if ui
            .add_enabled(!list.scanning, egui::Button::new(REFRESH).small())
            .on_hover_text(format!("Read {} again", root.display()))
            .clicked()
        {
            action = CapacityAction::RefreshSaved;
        }
        if list.scanning {
            ui.spinner();
        }
    });
    let sweeps = match &list.listing {
        None => return action,
        Some(Err(why)) => {
            ui.add(egui::Label::new(RichText::new(why).small().color(error_color(ui))).wrap());
            return action;
        }
        Some(Ok(l)) if l.is_empty() => {
            ui.label(
                RichText::new("None yet: each sweep started here is kept here as it runs")
                    .small()
                    .weak(),
            )
            .on_hover_text(root.display().to_string());
            return action;
        }
        Some(Ok(l)) => l,
    };
    // as tall as the panel shows below it (the list is the panel's last section), within bounds: a
    // fixed height ran past the window's foot at 1280 x 800
    let room = ui.clip_rect().bottom() - ui.cursor().top() - 6.0;
    egui::ScrollArea::vertical()
        .id_salt("capacity_saved_list")
        .auto_shrink([false, true])
        .max_height(room.clamp(110.0, 320.0))
        .show(ui, |ui| {
            for s in sweeps {
                let a = row_ui(ui, s, list, panel);
                action = action.clone().or(a);
            }
        });
    action
}

/// One folder: when and what (click: open it), its tasks and size (or why it cannot be read), and
/// Remove… (or, once asked, the confirmation).
fn row_ui(ui: &mut Ui, s: &SavedSweep, list: &SavedList, panel: &SavedPanel<'_>) -> CapacityAction {
    let mut action = CapacityAction::None;
    let writing = panel.writing == Some(s.dir.as_path());
    let shown = panel.shown == Some(s.dir.as_path());
    ui.separator();
    let title = format!("{} · {}", when_text(s.started), s.what);
    let open = ui
        .add_enabled(
            !panel.busy && !writing,
            egui::Button::selectable(shown, RichText::new(title)).truncate(),
        )
        .on_hover_text(format!("Open {}", s.dir.display()))
        .on_disabled_hover_text(if writing {
            "the sweep running writes this folder (it is shown)"
        } else {
            "busy: wait for the folder being read or saved"
        });
    if open.clicked() {
        action = CapacityAction::OpenFolder(s.dir.clone());
    }
    let small = |t: String| RichText::new(t).small();
    let confirming = list.confirm.as_deref() == Some(s.dir.as_path());
    // what it holds (or why it cannot be read), cut to the panel's width, and Remove… at its end
    egui::containers::Sides::new()
        .shrink_left()
        .truncate()
        .show(
            ui,
            |ui| {
                let mark = if writing {
                    "● writing · "
                } else if shown {
                    "● shown · "
                } else {
                    ""
                };
                match &s.problem {
                    Some(why) => {
                        ui.label(small(format!("{mark}{why}")).color(error_color(ui)))
                            .on_hover_text(why.as_str());
                    }
                    None => {
                        let tasks = if writing {
                            s.tasks_text().replace(" · stopped", " · running")
                        } else {
                            s.tasks_text()
                        };
                        ui.label(small(format!("{mark}{tasks} · {}", size_text(s.bytes))))
                            .on_hover_text(format!("{}: {}", s.name, s.holds_text()));
                    }
                }
            },
            |ui| {
                // the sweep shown or running is never removed
                if !writing && !shown && !confirming {
                    let ask = ui
                        .add_enabled(!panel.busy, egui::Button::new(small(REMOVE_ASK.into())))
                        .on_hover_text(format!("Remove {} from disk (asks first)", s.name));
                    if ask.clicked() {
                        action = CapacityAction::AskRemove(s.dir.clone());
                    }
                }
            },
        );
    if confirming {
        let red = error_color(ui);
        ui.add(
            egui::Label::new(
                small(format!(
                    "Remove {} from disk? It holds {}. This cannot be undone.",
                    s.name,
                    s.holds_text()
                ))
                .color(red),
            )
            .wrap(),
        );
        let buttons = ui.horizontal(|ui| {
            if ui.button(REMOVE).clicked() {
                action = CapacityAction::Remove(s.dir.clone());
            }
            if ui.button(KEEP).clicked() {
                action = CapacityAction::CancelRemove;
            }
        });
        if list.confirm_new {
            buttons.response.scroll_to_me(Some(egui::Align::BOTTOM));
        }
    }
    action
}
