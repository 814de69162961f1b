//! Cost and receptive-field analysis: pure functions over a network description.
