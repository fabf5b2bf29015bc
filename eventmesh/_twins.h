/* What the C twins share (docs/architecture.md, "The C twins"): reading the Python classes they
 * were told about through their slots. */
#ifndef EVENTMESH_TWINS_H
#define EVENTMESH_TWINS_H

#include <Python.h>
#include <structmember.h>

/* A slot's value: the object at ``off`` bytes into ``obj`` (NULL when the slot is unset). */
#define SLOT(obj, off) (*(PyObject **)((char *)(obj) + (off)))

/* The offset of ``type``'s object slot ``name`` (a __slots__ entry or a msgspec field), taken
 * once at init; -1 with TypeError when ``name`` is anything else. */
static inline int offset_of(PyTypeObject *type, const char *name, Py_ssize_t *out) {
    PyObject *d = PyObject_GetAttrString((PyObject *)type, name);
    if (!d) return -1;
    if (!Py_IS_TYPE(d, &PyMemberDescr_Type) || ((PyMemberDescrObject *)d)->d_member->type != T_OBJECT_EX) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not an object slot", type->tp_name, name);
        Py_DECREF(d);
        return -1;
    }
    *out = ((PyMemberDescrObject *)d)->d_member->offset;
    Py_DECREF(d);
    return 0;
}

/* Attributes read in an instance's dict: a generic attribute access from C costs 250-380
 * instructions, a dict probe with the name's cached hash a fifth of that. It reads what Python
 * reads only when the class defines none of the names (no property or slot wins over the dict):
 * keeps_in_dict() says so, 1 or 0. */
static inline int keeps_in_dict(PyTypeObject *type, PyObject *const *names, size_t n) {
    if (!(type->tp_flags & Py_TPFLAGS_MANAGED_DICT) && type->tp_dictoffset == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (_PyType_Lookup(type, names[i])) return 0;
    return 1;
}

/* d[name], borrowed; NULL with AttributeError (or the lookup's error) when it is missing. */
static inline PyObject *dict_get(PyObject *d, PyObject *name) {
    PyObject *v = PyDict_GetItemWithError(d, name);
    if (!v && !PyErr_Occurred()) PyErr_SetObject(PyExc_AttributeError, name);
    return v;
}

#endif
