//! Unit tests of the RIB.
