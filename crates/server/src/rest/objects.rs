//! The sObject catalog: which objects the acting user may query and describe, their fields, and
//! their rows. (Skeleton: the rest helper fills it.)
