//! Teaching mode: lessons played on the labs ([`player`]), the presenter view for a projector
//! ([`presenter`]), scenes that reopen a prepared picture ([`scene`]), and the panels a lesson shows,
//! hides and highlights ([`panels`]), and the teacher's own window of speaker notes ([`notes`]).

pub mod notes;
pub mod panels;
pub mod player;
pub mod presenter;
pub mod scene;
pub mod window;
