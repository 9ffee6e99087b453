//! SKELETON (issue 13): tests land here.
