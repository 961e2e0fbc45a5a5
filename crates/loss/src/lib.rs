//! gradus-loss (in progress).
