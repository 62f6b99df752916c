//! Reports: one renderer used by the command line and the snapshot tests (Markdown, JSON,
//! SVG figures).

pub mod figures;
