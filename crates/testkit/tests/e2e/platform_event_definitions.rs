//! Platform event definitions: fields, schemas, GetTopic/GetSchema and outbound events follow them.
