//! The CPU reference forward pass: simple loops, obviously right; the oracle for the GPU engine.
