//! Property tests of the RIB.
