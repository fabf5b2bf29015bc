/* The standard queue's plain delivery path in C: a twin of StandardOrder.accept (standard.py).
 *
 * A bus into SQS spends a fifth of its time per event storing the event in its queues (an
 * EventBridge rule's match, an SNS subscription's message, a Lambda destination): StandardOrder's
 * accept is about 80 bytecodes per call. This is the same path, step by step, for the case it
 * keeps inline (plain ASCII bodies of JSON text or without control characters, no attributes,
 * group or deduplication ids, a queue without a delay, at most 16 items); any other delivery goes
 * to the order's own ``_accept_general``, as in Python. It reads the classes it knows through
 * their slots (offsets taken once, in init()) and the queue through its attributes, so the queue's
 * state stays where the Python code keeps it. The Python method is the reference: the SQS tests
 * run against both (tests/services/sqs/test_accept_engines.py), and EVENTMESH_SQS_ENGINE=python
 * turns this one off (standard.py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdio.h>
#include <string.h>
#include <structmember.h>

#include "_twins.h"

#define ID_HEX 16      /* ID_DIGITS: a batch holds at most 16 messages */
#define BLOCK_MASK 0xFFFFFFFFFFLL /* next_id_base: a block is the batch counter's bits 4-43 */

static struct {
    int ready;
    PyTypeObject *Message, *Delivery, *Order, *Retention, *Queue;
    PyObject *delivered, *digits, *table; /* DELIVERED, ID_DIGITS (str), BODY_BYTE_TABLE (bytes) */
    Py_ssize_t or_queue, or_visible, rt_batches, rt_timer, rt_check_at;
    Py_ssize_t dl_body, dl_attributes, dl_group_id, dl_deduplication_id, dl_trace_header, dl_json_text;
    PyObject *s_delay_s, *s_max_size, *s_clock, *s_now, *s_id_batch, *s_id_block, *s_id_block_text,
        *s_id_head, *s_n_visible, *s_wake, *s_retention, *s_checks, *s_sent, *s_sent_bytes,
        *s_accept_general, *s_accept, *s_extend, *s_append;
} G;

static PyObject *init(PyObject *self, PyObject *args) {
    (void)self;
    if (!PyArg_ParseTuple(args, "O!O!O!O!OUS", &PyType_Type, &G.Message, &PyType_Type, &G.Delivery,
                          &PyType_Type, &G.Order, &PyType_Type, &G.Retention, &G.delivered, &G.digits,
                          &G.table))
        return NULL;
    if (PyUnicode_GET_LENGTH(G.digits) != ID_HEX || !PyUnicode_IS_ASCII(G.digits) ||
        PyBytes_GET_SIZE(G.table) != 256) {
        PyErr_SetString(PyExc_ValueError, "ID_DIGITS or BODY_BYTE_TABLE differ from what this code reads");
        return NULL;
    }
    struct { PyTypeObject *t; const char *name; Py_ssize_t *off; } slots[] = {
        {G.Order, "queue", &G.or_queue}, {G.Order, "visible", &G.or_visible},
        {G.Retention, "batches", &G.rt_batches}, {G.Retention, "timer", &G.rt_timer},
        {G.Retention, "check_at", &G.rt_check_at},
        {G.Delivery, "body", &G.dl_body}, {G.Delivery, "attributes", &G.dl_attributes},
        {G.Delivery, "group_id", &G.dl_group_id}, {G.Delivery, "deduplication_id", &G.dl_deduplication_id},
        {G.Delivery, "trace_header", &G.dl_trace_header}, {G.Delivery, "json_text", &G.dl_json_text},
    };
    for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
        if (offset_of(slots[i].t, slots[i].name, slots[i].off) < 0) return NULL;
    struct { PyObject **s; const char *text; } names[] = {
        {&G.s_delay_s, "delay_s"}, {&G.s_max_size, "max_size"}, {&G.s_clock, "clock"}, {&G.s_now, "now"},
        {&G.s_id_batch, "_id_batch"}, {&G.s_id_block, "_id_block"}, {&G.s_id_block_text, "_id_block_text"},
        {&G.s_id_head, "_id_head"}, {&G.s_n_visible, "n_visible"}, {&G.s_wake, "wake"},
        {&G.s_retention, "retention"}, {&G.s_checks, "checks"}, {&G.s_sent, "sent"},
        {&G.s_sent_bytes, "sent_bytes"}, {&G.s_accept_general, "_accept_general"}, {&G.s_accept, "accept"},
        {&G.s_extend, "extend"},
        {&G.s_append, "append"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!(*names[i].s = PyUnicode_InternFromString(names[i].text))) return NULL;
    PyObject *keep[] = {(PyObject *)G.Message, (PyObject *)G.Delivery, (PyObject *)G.Order,
                        (PyObject *)G.Retention, G.delivered, G.digits, G.table};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) Py_INCREF(keep[i]);
    G.ready = 1;
    Py_RETURN_NONE;
}

/* The queue's attributes are read and written in its instance dict (_twins.h says why); the
 * Python method serves a queue whose class keeps them elsewhere (dict_queue). */

/* d[name] as a C long long; -1 with an error set on failure. */
static int get_ll(PyObject *d, PyObject *name, long long *out) {
    PyObject *v = dict_get(d, name);
    if (!v) return -1;
    *out = PyLong_AsLongLong(v);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

static int set_ll(PyObject *d, PyObject *name, long long value) {
    PyObject *v = PyLong_FromLongLong(value);
    if (!v) return -1;
    int rc = PyDict_SetItem(d, name, v);
    Py_DECREF(v);
    return rc;
}

/* d[name] += by */
static int add_ll(PyObject *d, PyObject *name, long long by) {
    long long value;
    if (get_ll(d, name, &value) < 0) return -1;
    return set_ll(d, name, value + by);
}

/* Queue.next_id_base, written into ``base`` (35 ASCII characters): the head and the batch
 * counter's low 44 bits in 11 hex digits, of which the first 10 are formatted once per 16 batches
 * (kept in ``_id_block_text``, as the Python method keeps them). */
static int next_id_base(PyObject *d, char base[35]) {
    long long batch, block;
    if (get_ll(d, G.s_id_batch, &batch) < 0) return -1;
    batch += 1;
    if (set_ll(d, G.s_id_batch, batch) < 0) return -1;
    if (get_ll(d, G.s_id_block, &block) < 0) return -1;
    if ((batch >> 4) != block) {
        block = batch >> 4;
        if (set_ll(d, G.s_id_block, block) < 0) return -1;
        PyObject *head = dict_get(d, G.s_id_head);
        if (!head) return -1;
        char hex[17];
        snprintf(hex, sizeof hex, "%010llx", (unsigned long long)(block & BLOCK_MASK));
        PyObject *text = PyUnicode_FromFormat("%S%s", head, hex);
        if (!text) return -1;
        int rc = PyDict_SetItem(d, G.s_id_block_text, text);
        Py_DECREF(text);
        if (rc < 0) return -1;
    }
    PyObject *text = dict_get(d, G.s_id_block_text);
    if (!text) return -1;
    if (!PyUnicode_Check(text) || !PyUnicode_IS_ASCII(text) || PyUnicode_GET_LENGTH(text) != 34) {
        PyErr_SetString(PyExc_ValueError, "a queue's message id head is not 34 ASCII characters");
        return -1;
    }
    memcpy(base, PyUnicode_DATA(text), 34);
    base[34] = ((const char *)PyUnicode_DATA(G.digits))[batch & 15];
    return 0;
}

/* 1 if ``type``'s instances keep the names accept() reads in their dict, else 0 (once per class). */
static int dict_queue(PyTypeObject *type) {
    if (type == G.Queue) return 1;
    PyObject *names[] = {G.s_delay_s, G.s_max_size, G.s_clock, G.s_id_batch, G.s_id_block, G.s_id_block_text,
                         G.s_id_head, G.s_n_visible, G.s_retention, G.s_sent, G.s_sent_bytes};
    if (!keeps_in_dict(type, names, sizeof(names) / sizeof(names[0]))) return 0;
    Py_INCREF(type);
    Py_XSETREF(G.Queue, type);
    return 1;
}

/* 1: the item takes the inline path (its body's length added to *size), 0: it does not, -1 error. */
static int plain_item(PyObject *item, Py_ssize_t max_size, Py_ssize_t *size) {
    if (!Py_IS_TYPE(item, G.Delivery)) return 0;
    PyObject *attributes = SLOT(item, G.dl_attributes), *body = SLOT(item, G.dl_body);
    if (!attributes || !body) return 0; /* unset fields: the general path says what is wrong */
    if (PyDict_CheckExact(attributes) ? PyDict_GET_SIZE(attributes) != 0 : attributes != Py_None) return 0;
    if (SLOT(item, G.dl_group_id) != Py_None || SLOT(item, G.dl_deduplication_id) != Py_None) return 0;
    if (!PyUnicode_CheckExact(body) || !PyUnicode_IS_ASCII(body)) return 0;
    Py_ssize_t n = PyUnicode_GET_LENGTH(body);
    if (n <= 0 || n > max_size) return 0;
    if (SLOT(item, G.dl_json_text) != Py_True) { /* bytes SQS refuses (BODY_BYTE_TABLE maps them past ASCII) */
        const unsigned char *p = PyUnicode_DATA(body);
        const unsigned char *table = (const unsigned char *)PyBytes_AS_STRING(G.table);
        for (Py_ssize_t i = 0; i < n; i++)
            if (table[p[i]] & 0x80) return 0;
    }
    *size += n;
    return 1;
}

/* A message id: the batch's 35-character base and the item's digit. */
static PyObject *message_id(const char base[35], Py_ssize_t i) {
    PyObject *id = PyUnicode_New(36, 127);
    if (!id) return NULL;
    char *p = PyUnicode_DATA(id);
    memcpy(p, base, 35);
    p[35] = ((const char *)PyUnicode_DATA(G.digits))[i];
    return id;
}

/* The stored half of accept: the messages of ``items`` (all plain, ``size_total`` bytes) made and
 * placed in the queue whose instance dict is ``d``. 0, or -1 with an error set. */
static int store(PyObject *queue, PyObject *d, PyObject *visible, PyObject *items, Py_ssize_t n,
                 Py_ssize_t size_total) {
    PyObject *clock = dict_get(d, G.s_clock);
    if (!clock) return -1;
    PyObject *now = PyObject_CallMethodNoArgs(clock, G.s_now);
    if (!now) return -1;
    char base[35];
    PyObject *ready = NULL, *r;
    if (next_id_base(d, base) < 0 || !(ready = PyTuple_New(n))) goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyList_GET_ITEM(items, i), *body = SLOT(item, G.dl_body);
        PyObject *id = message_id(base, i);
        if (!id) goto fail;
        PyObject *size = PyLong_FromSsize_t(n == 1 ? size_total : PyUnicode_GET_LENGTH(body));
        if (!size) {
            Py_DECREF(id);
            goto fail;
        }
        PyObject *margs[7] = {id, body, Py_None, SLOT(item, G.dl_trace_header), now, now, size};
        PyObject *msg = PyObject_Vectorcall((PyObject *)G.Message, margs, 7, NULL);
        Py_DECREF(id);
        Py_DECREF(size);
        if (!msg) goto fail;
        PyTuple_SET_ITEM(ready, i, msg);
    }
    Py_CLEAR(now);

    long long n_visible;   /* made_visible and Queue.placed, inline, in the Python order */
    if (get_ll(d, G.s_n_visible, &n_visible) < 0) goto fail;
    if (!(r = PyObject_CallMethodOneArg(visible, G.s_extend, ready))) goto fail;
    Py_DECREF(r);
    if (set_ll(d, G.s_n_visible, n_visible + n) < 0) goto fail;
    if (n_visible == 0) {
        if (!(r = PyObject_CallMethodNoArgs(queue, G.s_wake))) goto fail;
        Py_DECREF(r);
    }
    PyObject *retention = dict_get(d, G.s_retention);   /* Retention.keep, inline */
    if (!retention) goto fail;
    if (!Py_IS_TYPE(retention, G.Retention) || !SLOT(retention, G.rt_batches) || !SLOT(retention, G.rt_timer)
        || !SLOT(retention, G.rt_check_at)) {
        PyErr_SetString(PyExc_TypeError, "a queue's retention is not a Retention");
        goto fail;
    }
    Py_INCREF(retention);   /* wake() may have run any code: hold what is used from here on */
    PyObject *batches = SLOT(retention, G.rt_batches);
    int check = -1;
    if ((r = PyObject_CallMethodOneArg(batches, G.s_append, ready))) {
        Py_DECREF(r);
        check = SLOT(retention, G.rt_timer) == Py_None;
        if (!check) {
            Py_ssize_t kept = PyObject_Length(batches);
            long long check_at = PyLong_AsLongLong(SLOT(retention, G.rt_check_at));
            check = (kept < 0 || (check_at == -1 && PyErr_Occurred())) ? -1 : kept > check_at;
        }
        if (check == 1) {
            r = PyObject_CallMethodNoArgs(retention, G.s_checks);
            Py_XDECREF(r);
            if (!r) check = -1;
        }
    }
    Py_DECREF(retention);
    Py_DECREF(ready);
    if (check < 0) return -1;
    return add_ll(d, G.s_sent, n) < 0 || add_ll(d, G.s_sent_bytes, size_total) < 0 ? -1 : 0;
fail:
    Py_XDECREF(now);
    Py_XDECREF(ready);
    return -1;
}

/* accept(order, items, source_arn): StandardOrder.accept (see the file's comment). */
static PyObject *accept(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (!G.ready) {
        PyErr_SetString(PyExc_RuntimeError, "init() was not called");
        return NULL;
    }
    if (nargs != 3 || !Py_IS_TYPE(args[0], G.Order)) {
        PyErr_SetString(PyExc_TypeError, "accept(order, items, source_arn)");
        return NULL;
    }
    PyObject *order = args[0], *items = args[1];
    PyObject *queue = SLOT(order, G.or_queue), *visible = SLOT(order, G.or_visible);
    if (!queue || !visible) {
        PyErr_SetString(PyExc_AttributeError, "a standard order without its queue");
        return NULL;
    }
    if (!dict_queue(Py_TYPE(queue)))   /* a queue this code cannot read: the Python method can */
        return PyObject_CallMethodObjArgs(order, G.s_accept, items, args[2], NULL);
    PyObject *d = PyObject_GenericGetDict(queue, NULL);
    if (!d) return NULL;
    Py_INCREF(queue);   /* the clock and wake() run Python code: hold what the slots lend */
    Py_INCREF(visible);
    Py_ssize_t n = PyList_CheckExact(items) ? PyList_GET_SIZE(items) : 0;
    long long max_size, delay;
    Py_ssize_t size_total = 0;
    int plain = -1;
    if (get_ll(d, G.s_delay_s, &delay) == 0 && get_ll(d, G.s_max_size, &max_size) == 0) {
        plain = n > 0 && n <= ID_HEX && delay == 0;
        for (Py_ssize_t i = 0; plain == 1 && i < n; i++)  /* checked before anything is stored */
            plain = plain_item(PyList_GET_ITEM(items, i), (Py_ssize_t)max_size, &size_total);
    }
    PyObject *result = NULL;
    if (plain == 0) {
        result = PyObject_CallMethodOneArg(order, G.s_accept_general, items);
    } else if (plain == 1 && store(queue, d, visible, items, n, size_total) == 0) {
        Py_INCREF(G.delivered);
        result = G.delivered;
    }
    Py_DECREF(visible);
    Py_DECREF(queue);
    Py_DECREF(d);
    return result;
}

static PyMethodDef methods[] = {
    {"init", init, METH_VARARGS,
     "init(Message, Delivery, StandardOrder, Retention, DELIVERED, ID_DIGITS, BODY_BYTE_TABLE): once."},
    {"accept", (PyCFunction)(void (*)(void))accept, METH_FASTCALL,
     "accept(order, items, source_arn) -> DeliveryResult: StandardOrder.accept."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", "A standard queue's plain delivery path in C (see standard.py).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
