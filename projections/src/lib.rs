//! OMS projections: the projector runtime, the relational read models and the process
//! managers. They arrive with issues #5 and #6.
