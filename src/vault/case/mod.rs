//! Cases and everything written on them: the encrypted details and their versions,
//! the list and search, notes, hearings and deadlines, Coming up, the export, shares
//! with partners and assignment, client upload links, and the administrator's id-only
//! view.
//!
//! Invariant: every operation decides first (one policy call, audited) and reads or
//! writes a case only through its case key; a case the actor may not see answers
//! exactly like a missing one.
pub(super) mod admin_view;
pub(super) mod case_edit;
pub(super) mod case_list;
pub(super) mod cases;
pub(super) mod casework;
pub(super) mod events;
pub(super) mod export;
pub(super) mod indexes;
pub(super) mod shares;
pub(super) mod upcoming;
pub(super) mod upload_links;
