//! Runnable examples for the VI toolbox; see the `examples/` folder.
