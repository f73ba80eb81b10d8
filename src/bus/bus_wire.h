/* bus_wire: a whole struct event as one compact JSON message, for buses between processes.
 *
 * {"seq","sseq","id","type","dkey","sid","slogin","sname","vid","vlogin","vname","at",
 *  "summary","data"} with absent strings as null. Decoding accepts only what encoding makes
 * (every required field present and of the right type); anything else is rejected.
 */
#ifndef SEV_BUS_WIRE_H
#define SEV_BUS_WIRE_H

#include <stddef.h>

#include "event/event.h"

/* A malloc'd NUL-terminated message (*len its length), or NULL when out of memory. */
char *bus_wire_encode(const struct event *ev, size_t *len);
/* An owned event, or NULL when the message is not one bus_wire_encode makes. */
struct event *bus_wire_decode(const char *msg, size_t len);
/* A deep copy (owned), or NULL when out of memory. */
struct event *bus_event_clone(const struct event *ev);

#endif
