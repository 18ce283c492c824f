//! Predicates for `skip_serializing_if` that reproduce Go's `omitempty`: MetalLB's types leave
//! a zero value out of the JSON, and so do we, so an object read and written back by ferrolb
//! looks the same as one MetalLB wrote.

/// `false` is omitted, as Go omits a zero `bool`.
pub(crate) fn is_false(v: &bool) -> bool {
    !*v
}

/// `0` is omitted, as Go omits a zero number.
pub(crate) fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}
