//! `grokscope bench` (filled in below).
