/* A bus's per-event loops in C: twins of EventBus.ingest's common case (bus.py) and of the loop
 * of put_events that makes the events of a request (service.py).
 *
 * After the match itself, the Python loop that takes each event's matched rules to their targets'
 * pending deliveries was the largest part of a bus's time per event (bench_bus_mixed: about a
 * fifth). This is the same loop for the case ``ingest`` hands it: no archive to offer the events
 * to, not a replay, no trace headers. It reads the classes it knows through their slots (offsets
 * taken once, in init()) and a rule through its instance dict; a target that is not plain (an
 * Input template, a FIFO group, a stream, another bus, an API destination) goes to the bus's own
 * ``_collect_one``, as in Python. The Python loop is the reference: the bus tests run against
 * both (tests/services/events/test_bus.py), and EVENTMESH_EVENTS_ENGINE=python turns this one off
 * (bus.py).
 *
 * entries() makes a PutEvents request's events and results the way put_events does, for the
 * requests whose entries are all plain: Source, DetailType and a Detail the pattern engine keeps
 * as text, no Time or TraceHeader, all to one bus; for any other request it answers None and
 * put_events runs its own loop (which says what is wrong with an entry).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <structmember.h>

#include "_twins.h"

static struct {
    int ready;
    PyTypeObject *Delivery, *RuleTarget, *RuleCounters, *Rule, *Entry, *Result;
    Py_ssize_t tg_plain, rc_triggered;
    Py_ssize_t en_source, en_detail_type, en_detail, en_resources, en_time, en_bus, en_trace;
    PyObject *s_counters, *s_target_list, *k_id, *k_detail_type, *k_source, *k_resources, *k_detail,
        *reserved; /* the envelope's keys; "aws." */
} G;

static PyObject *init(PyObject *self, PyObject *args) {
    (void)self;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!O!U", &PyType_Type, &G.Delivery, &PyType_Type, &G.RuleTarget,
                          &PyType_Type, &G.RuleCounters, &PyType_Type, &G.Rule, &PyType_Type, &G.Entry,
                          &PyType_Type, &G.Result, &G.reserved))
        return NULL;
    struct { PyTypeObject *t; const char *name; Py_ssize_t *off; } slots[] = {
        {G.RuleTarget, "plain", &G.tg_plain}, {G.RuleCounters, "triggered_rules", &G.rc_triggered},
        {G.Entry, "source", &G.en_source}, {G.Entry, "detail_type", &G.en_detail_type},
        {G.Entry, "detail", &G.en_detail}, {G.Entry, "resources", &G.en_resources}, {G.Entry, "time", &G.en_time},
        {G.Entry, "event_bus_name", &G.en_bus}, {G.Entry, "trace_header", &G.en_trace},
    };
    for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
        if (offset_of(slots[i].t, slots[i].name, slots[i].off) < 0) return NULL;
    struct { PyObject **s; const char *text; } keys[] = {
        {&G.k_id, "id"}, {&G.k_detail_type, "detail-type"}, {&G.k_source, "source"},
        {&G.k_resources, "resources"}, {&G.k_detail, "detail"},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!(*keys[i].s = PyUnicode_InternFromString(keys[i].text))) return NULL;
    if (!(G.s_counters = PyUnicode_InternFromString("counters")) ||
        !(G.s_target_list = PyUnicode_InternFromString("target_list")))
        return NULL;
    PyObject *rule_names[] = {G.s_counters, G.s_target_list};   /* read in a rule's dict (_twins.h) */
    if (!keeps_in_dict(G.Rule, rule_names, 2)) {
        PyErr_SetString(PyExc_TypeError, "Rule keeps counters and target_list elsewhere than its instance dict");
        return NULL;
    }
    /* a Delivery is made by position: its fields must be these, in this order */
    PyObject *fields = PyObject_GetAttrString((PyObject *)G.Delivery, "__struct_fields__");
    PyObject *expected = Py_BuildValue("(sssssss)", "body", "attributes", "group_id", "deduplication_id",
                                       "partition_key", "trace_header", "json_text");
    int same = fields && expected ? PyObject_RichCompareBool(fields, expected, Py_EQ) : -1;
    Py_XDECREF(fields);
    Py_XDECREF(expected);
    if (same != 1) {
        if (same == 0) PyErr_SetString(PyExc_TypeError, "Delivery's fields differ from what this code makes");
        return NULL;
    }
    Py_INCREF(G.Delivery);
    Py_INCREF(G.Entry);
    Py_INCREF(G.Result);
    Py_INCREF(G.reserved);
    Py_INCREF(G.RuleTarget);
    Py_INCREF(G.RuleCounters);
    Py_INCREF(G.Rule);
    G.ready = 1;
    Py_RETURN_NONE;
}

/* counters.triggered_rules += 1 */
static int triggered(PyObject *counters) {
    if (!Py_IS_TYPE(counters, G.RuleCounters)) {
        PyErr_SetString(PyExc_TypeError, "a rule's counters are not RuleCounters");
        return -1;
    }
    PyObject *old = SLOT(counters, G.rc_triggered);
    if (!old) {
        PyErr_SetString(PyExc_AttributeError, "triggered_rules");
        return -1;
    }
    PyObject *one = PyLong_FromLong(1);
    PyObject *sum = one ? PyNumber_Add(old, one) : NULL;
    Py_XDECREF(one);
    if (!sum) return -1;
    SLOT(counters, G.rc_triggered) = sum;
    Py_DECREF(old);
    return 0;
}

/* pending[target] gets ``item`` (a new entry (rule, [item]) or appended to its list). */
static int pend(PyObject *pending, PyObject *target, PyObject *rule, PyObject *item) {
    PyObject *entry = PyDict_GetItemWithError(pending, target);
    if (entry) {
        if (!PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 2 || !PyList_CheckExact(PyTuple_GET_ITEM(entry, 1))) {
            PyErr_SetString(PyExc_TypeError, "a pending entry is not (rule, items)");
            return -1;
        }
        return PyList_Append(PyTuple_GET_ITEM(entry, 1), item);
    }
    if (PyErr_Occurred()) return -1;
    PyObject *items = PyList_New(1);
    if (!items) return -1;
    Py_INCREF(item);
    PyList_SET_ITEM(items, 0, item);
    PyObject *fresh = PyTuple_Pack(2, rule, items);
    Py_DECREF(items);
    if (!fresh) return -1;
    int rc = PyDict_SetItem(pending, target, fresh);
    Py_DECREF(fresh);
    return rc;
}

/* One matched rule's targets: plain ones get the event's one Delivery (made on first need, in
 * *item), the others go through collect(rule, target, event, event_json, ingested_at, pending,
 * hops). */
static int to_targets(PyObject *rule, PyObject *event, PyObject *event_json, PyObject *pending, PyObject *collect,
                      PyObject *ingested_at, PyObject *hops, PyObject **item) {
    PyObject *d = PyObject_GenericGetDict(rule, NULL);
    if (!d) return -1;
    PyObject *counters = dict_get(d, G.s_counters);
    PyObject *targets = counters ? dict_get(d, G.s_target_list) : NULL;
    if (!targets) {
        Py_DECREF(d);
        return -1;
    }
    Py_INCREF(counters);
    Py_INCREF(targets);
    Py_DECREF(d);
    int rc = triggered(counters);
    Py_DECREF(counters);
    if (rc == 0 && !PyList_CheckExact(targets)) {
        PyErr_SetString(PyExc_TypeError, "a rule's target_list is not a list");
        rc = -1;
    }
    for (Py_ssize_t i = 0; rc == 0 && i < PyList_GET_SIZE(targets); i++) {
        PyObject *target = PyList_GET_ITEM(targets, i);
        Py_INCREF(target);   /* collect runs Python code, which may change the list */
        if (Py_IS_TYPE(target, G.RuleTarget) && SLOT(target, G.tg_plain) == Py_True) {
            if (!*item) {   /* Delivery(event_json, trace_header=None, json_text=True), by position */
                PyObject *attributes = PyDict_New();   /* the default: an empty dict of its own */
                if (attributes) {
                    PyObject *args[7] = {event_json, attributes, Py_None, Py_None, Py_None, Py_None, Py_True};
                    *item = PyObject_Vectorcall((PyObject *)G.Delivery, args, 7, NULL);
                    Py_DECREF(attributes);
                }
            }
            rc = *item ? pend(pending, target, rule, *item) : -1;
        } else {
            PyObject *args[7] = {rule, target, event, event_json, ingested_at, pending, hops};
            PyObject *r = PyObject_Vectorcall(collect, args, 7, NULL);
            Py_XDECREF(r);
            if (!r) rc = -1;
        }
        Py_DECREF(target);
    }
    Py_DECREF(targets);
    return rc;
}

/* The matched names as a list in name order (one name: no sort). */
static PyObject *names_in_order(PyObject *names) {
    if (PyAnySet_CheckExact(names) && PySet_GET_SIZE(names) == 1) {
        Py_ssize_t pos = 0;
        PyObject *name;
        Py_hash_t hash;
        if (_PySet_NextEntry(names, &pos, &name, &hash)) {
            PyObject *order = PyList_New(1);
            if (order) {
                Py_INCREF(name);
                PyList_SET_ITEM(order, 0, name);
            }
            return order;
        }
    }
    PyObject *order = PySequence_List(names);
    if (order && PyList_Sort(order) < 0) Py_CLEAR(order);
    return order;
}

/* ingest(events, match, envelope, encode, rules, pending, collect, ingested_at, hops) -> matched:
 * EventBus.ingest's loop without archives, replays or traces (see the file's comment). */
static PyObject *ingest(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (!G.ready) {
        PyErr_SetString(PyExc_RuntimeError, "init() was not called");
        return NULL;
    }
    if (nargs != 9 || !PyList_CheckExact(args[0]) || !PyDict_CheckExact(args[4]) || !PyDict_CheckExact(args[5])) {
        PyErr_SetString(PyExc_TypeError,
                        "ingest(events: list, match, envelope, encode, rules: dict, pending: dict, collect, "
                        "ingested_at, hops)");
        return NULL;
    }
    PyObject *events = args[0], *match = args[1], *envelope = args[2], *encode = args[3], *rules = args[4];
    PyObject *pending = args[5], *collect = args[6], *ingested_at = args[7], *hops = args[8];
    Py_ssize_t matched = 0;
    for (Py_ssize_t e = 0; e < PyList_GET_SIZE(events); e++) {
        PyObject *event = PyList_GET_ITEM(events, e);
        Py_INCREF(event);
        PyObject *names = PyObject_CallOneArg(match, event), *event_json = NULL, *order = NULL, *item = NULL;
        int rc = names ? PyObject_IsTrue(names) : -1;
        if (rc == 1) {   /* matched: the envelope, encoded once for every target */
            event_json = PyObject_CallOneArg(envelope, event);
            if (event_json && (event_json == Py_None || !PyObject_IsTrue(event_json))) {
                Py_DECREF(event_json);
                PyObject *encoded = PyObject_CallOneArg(encode, event);
                event_json = encoded ? PyUnicode_FromEncodedObject(encoded, "utf-8", "strict") : NULL;
                Py_XDECREF(encoded);
            }
            /* a set's order follows the hash seed: in name order, to keep runs reproducible */
            order = event_json ? names_in_order(names) : NULL;
            rc = order ? 1 : -1;
        }
        if (rc == 1) {
            matched++;
            for (Py_ssize_t i = 0; rc == 1 && i < PyList_GET_SIZE(order); i++) {
                PyObject *rule = PyDict_GetItemWithError(rules, PyList_GET_ITEM(order, i));
                if (!rule) {
                    if (!PyErr_Occurred()) PyErr_SetObject(PyExc_KeyError, PyList_GET_ITEM(order, i));
                    rc = -1;
                    break;
                }
                Py_INCREF(rule);
                if (to_targets(rule, event, event_json, pending, collect, ingested_at, hops, &item) < 0) rc = -1;
                Py_DECREF(rule);
            }
        }
        Py_XDECREF(item);
        Py_XDECREF(order);
        Py_XDECREF(event_json);
        Py_XDECREF(names);
        Py_DECREF(event);
        if (rc < 0) return NULL;
    }
    return PyLong_FromSsize_t(matched);
}

/* A non-empty str field of an entry, else NULL (without an error). */
static inline PyObject *text_field(PyObject *entry, Py_ssize_t off) {
    PyObject *v = SLOT(entry, off);
    return v && PyUnicode_CheckExact(v) && PyUnicode_GET_LENGTH(v) > 0 ? v : NULL;
}

/* One plain entry's event (a copy of ``envelope`` with its fields) and its result, or 0 for an
 * entry that is not plain; -1 with an error set. *chars grows by the entry's sizable characters. */
static int entry_event(PyObject *entry, PyObject *bus, PyObject *envelope, PyObject *id_head, Py_ssize_t index,
                       PyObject *raw_json, PyObject **event, PyObject **result, Py_ssize_t *chars) {
    PyObject *source = text_field(entry, G.en_source), *detail_type = text_field(entry, G.en_detail_type);
    PyObject *text = text_field(entry, G.en_detail), *resources = SLOT(entry, G.en_resources);
    if (!source || !detail_type || !text || !resources || SLOT(entry, G.en_time) != Py_None ||
        SLOT(entry, G.en_trace) != Py_None || !SLOT(entry, G.en_bus))
        return 0;
    int same = PyObject_RichCompareBool(SLOT(entry, G.en_bus), bus, Py_EQ);
    if (same != 1) return same;
    int reserved = PyUnicode_Tailmatch(source, G.reserved, 0, PY_SSIZE_T_MAX, -1);
    if (reserved != 0) return reserved < 0 ? -1 : 0;
    Py_ssize_t size = PyUnicode_GET_LENGTH(source) + PyUnicode_GET_LENGTH(detail_type) + PyUnicode_GET_LENGTH(text);
    PyObject *kept;   /* resources or [] */
    if (resources == Py_None) {
        kept = PyList_New(0);
    } else if (PyList_CheckExact(resources)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(resources); i++) {
            PyObject *r = PyList_GET_ITEM(resources, i);
            if (!PyUnicode_CheckExact(r)) return 0;
            size += PyUnicode_GET_LENGTH(r);
        }
        kept = PyList_GET_SIZE(resources) ? Py_NewRef(resources) : PyList_New(0);
    } else {
        return 0;
    }
    if (!kept) return -1;
    PyObject *detail = PyObject_CallOneArg(raw_json, text);
    if (!detail || detail == Py_None) {   /* not kept as text: put_events decodes it (or refuses it) */
        Py_XDECREF(detail);
        Py_DECREF(kept);
        return detail ? 0 : -1;
    }
    /* the event id: the request's UUID head and the entry's index in two hex digits */
    PyObject *id = NULL, *copy = NULL, *res = NULL;
    Py_ssize_t head = PyUnicode_GET_LENGTH(id_head);
    if ((id = PyUnicode_New(head + 2, 127))) {
        static const char hex[] = "0123456789abcdef";
        char *p = PyUnicode_DATA(id);
        memcpy(p, PyUnicode_DATA(id_head), head);
        p[head] = hex[(index >> 4) & 15];
        p[head + 1] = hex[index & 15];
    }
    if (id && (copy = PyDict_Copy(envelope)) && PyDict_SetItem(copy, G.k_id, id) == 0 &&
        PyDict_SetItem(copy, G.k_detail_type, detail_type) == 0 && PyDict_SetItem(copy, G.k_source, source) == 0 &&
        PyDict_SetItem(copy, G.k_resources, kept) == 0 && PyDict_SetItem(copy, G.k_detail, detail) == 0) {
        res = PyObject_Vectorcall((PyObject *)G.Result, &id, 1, NULL);
    }
    Py_XDECREF(id);
    Py_DECREF(kept);
    Py_DECREF(detail);
    if (!res) {
        Py_XDECREF(copy);
        return -1;
    }
    *event = copy;
    *result = res;
    *chars += size;
    return 1;
}

/* entries(entries, envelope, id_head, raw_json) -> (events, results, chars) | None: put_events'
 * loop for a request of plain entries to one bus (see the file's comment). */
static PyObject *entries(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (!G.ready) {
        PyErr_SetString(PyExc_RuntimeError, "init() was not called");
        return NULL;
    }
    if (nargs == 4 && !PyList_CheckExact(args[0])) Py_RETURN_NONE;   /* any other sequence: the Python loop */
    if (nargs != 4 || !PyDict_CheckExact(args[1]) || !PyUnicode_CheckExact(args[2]) || !PyUnicode_IS_ASCII(args[2])) {
        PyErr_SetString(PyExc_TypeError, "entries(entries: list, envelope: dict, id_head: str, raw_json)");
        return NULL;
    }
    PyObject *list = args[0];
    Py_ssize_t n = PyList_GET_SIZE(list), chars = 0;
    if (n == 0 || n > 256 || !Py_IS_TYPE(PyList_GET_ITEM(list, 0), G.Entry)) Py_RETURN_NONE;
    PyObject *bus = SLOT(PyList_GET_ITEM(list, 0), G.en_bus);
    PyObject *events = PyList_New(n), *results = PyList_New(n);
    if (!events || !results || !bus) goto fail;
    Py_INCREF(bus);
    int rc = 1;
    for (Py_ssize_t i = 0; rc == 1 && i < n; i++) {
        PyObject *entry = PyList_GET_ITEM(list, i), *event = NULL, *result = NULL;
        rc = Py_IS_TYPE(entry, G.Entry) ? entry_event(entry, bus, args[1], args[2], i, args[3], &event, &result, &chars)
                                        : 0;
        if (rc == 1) {
            PyList_SET_ITEM(events, i, event);
            PyList_SET_ITEM(results, i, result);
        }
    }
    Py_DECREF(bus);
    if (rc != 1) {   /* a list frees the items it has (those it lacks are NULL) */
        Py_DECREF(events);
        Py_DECREF(results);
        if (rc < 0) return NULL;
        Py_RETURN_NONE;
    }
    PyObject *out = Py_BuildValue("(NNn)", events, results, chars);
    return out;
fail:
    Py_XDECREF(events);
    Py_XDECREF(results);
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_AttributeError, "an entry without its fields");
    return NULL;
}

static PyMethodDef methods[] = {
    {"init", init, METH_VARARGS,
     "init(Delivery, RuleTarget, RuleCounters, Rule, PutEventsRequestEntry, PutEventsResultEntry, reserved): once."},
    {"entries", (PyCFunction)(void (*)(void))entries, METH_FASTCALL,
     "entries(entries, envelope, id_head, raw_json) -> (events, results, chars) | None."},
    {"ingest", (PyCFunction)(void (*)(void))ingest, METH_FASTCALL,
     "ingest(events, match, envelope, encode, rules, pending, collect, ingested_at, hops) -> matched."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", "A bus's per-event loop in C (see bus.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
