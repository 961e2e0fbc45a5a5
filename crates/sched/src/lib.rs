//! gradus-sched (in progress).
