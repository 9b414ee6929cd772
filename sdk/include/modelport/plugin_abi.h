/*
 * modelport plugin ABI, version 1.1 (1.0 plus streaming copies; see "v1.1" below).
 *
 * The contract between the modelport core and a scheme plugin (a shared object). Plain C, so a
 * plugin built with another compiler or C++ standard library still works: nothing but C types,
 * function pointers and byte spans crosses the boundary, and neither side frees memory the other
 * allocated.
 *
 * Rules of this header:
 *   - Append-only. A struct or table only grows at its end; every growth bumps
 *     MODELPORT_PLUGIN_ABI_MINOR. Anything else bumps MODELPORT_PLUGIN_ABI_MAJOR and the entry
 *     symbol's suffix. Each struct starts with struct_size so both sides can tell what the other
 *     knows (the core zero-fills what an older plugin did not provide).
 *   - Calling convention: the object first, then inputs, then outputs, `modelport_status*` last.
 *     Functions return a MODELPORT_* status code (0 = OK). On failure they also describe the
 *     failure through host->status_set (a message naming the URL/path and the cause).
 *   - Strings are NUL-terminated UTF-8. Spans are (pointer, size) and need not be terminated.
 *     Everything the core passes in is valid for the duration of the call only.
 *   - A plugin never throws across this boundary and never calls exit/abort.
 *
 * Lifecycle: the core dlopens the library (RTLD_NOW | RTLD_LOCAL), calls the entry function
 * (which only describes the plugin: no work, no side effects), validates the descriptor, then
 * calls init once. Handlers are created per URL by create_handler and destroyed by destroy. The
 * core calls shutdown once, at finalize, and never unloads the library.
 */
#ifndef MODELPORT_PLUGIN_ABI_H
#define MODELPORT_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MODELPORT_PLUGIN_ABI_MAJOR 1
#define MODELPORT_PLUGIN_ABI_MINOR 1
#define MODELPORT_PLUGIN_ENTRY_SYMBOL "modelport_plugin_entry_v1"
#define MODELPORT_SDK_VERSION_STRING "0.2.0"

#if defined(_WIN32)
#define MODELPORT_PLUGIN_EXPORT __declspec(dllexport)
#else
#define MODELPORT_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* ---- Status codes (int32; values never change) ------------------------------------------- */
#define MODELPORT_OK 0
#define MODELPORT_NOT_FOUND 1
#define MODELPORT_INVALID_ARGUMENT 2
#define MODELPORT_CORRUPT 3
#define MODELPORT_QUOTA_EXCEEDED 4
#define MODELPORT_UNAVAILABLE 5
#define MODELPORT_ALREADY_EXISTS 6
#define MODELPORT_UNIMPLEMENTED 7
#define MODELPORT_PERMISSION_DENIED 8
#define MODELPORT_CANCELLED 9
#define MODELPORT_INTERNAL 10

/* ---- Capabilities of a scheme (bit set) ------------------------------------------------- */
#define MODELPORT_CAP_SAVE 0x1u
#define MODELPORT_CAP_LOAD 0x2u
#define MODELPORT_CAP_LIST 0x4u
#define MODELPORT_CAP_REMOVE 0x8u
/* v1.1, with CAP_SAVE: the save accepts streamed views (weights_streamed), reading each part
 * only while it is current. Without it the core hands this scheme whole-model views, so a saver
 * written for v1.0 (keeping spans until it is done) stays correct. */
#define MODELPORT_CAP_SAVE_STREAMED 0x10u

/* ---- Log levels ------------------------------------------------------------------------- */
#define MODELPORT_LOG_DEBUG 0
#define MODELPORT_LOG_INFO 1
#define MODELPORT_LOG_WARNING 2
#define MODELPORT_LOG_ERROR 3

/* ---- Artifact fields, as named in model.json ------------------------------------------- */
#define MODELPORT_FIELD_MODEL_TOPOLOGY 0         /* "modelTopology" */
#define MODELPORT_FIELD_WEIGHT_SPECS 1           /* the flat weight specs array ("weightSpecs") */
#define MODELPORT_FIELD_TRAINING_CONFIG 2        /* "trainingConfig" */
#define MODELPORT_FIELD_FORMAT 3                 /* "format" */
#define MODELPORT_FIELD_GENERATED_BY 4           /* "generatedBy" */
#define MODELPORT_FIELD_CONVERTED_BY 5           /* "convertedBy" */
#define MODELPORT_FIELD_SIGNATURE 6              /* "signature" */
#define MODELPORT_FIELD_USER_DEFINED_METADATA 7  /* "userDefinedMetadata" */
#define MODELPORT_FIELD_MODEL_INITIALIZER 8      /* "modelInitializer" */
#define MODELPORT_FIELD_INITIALIZER_SIGNATURE 9  /* "initializerSignature" */
#define MODELPORT_FIELD_EXTRA 10                 /* a JSON object of unknown top-level keys */
#define MODELPORT_FIELD_COUNT 11

/* Opaque, core-owned objects. */
typedef struct modelport_status modelport_status;
typedef struct modelport_load_sink modelport_load_sink;
typedef struct modelport_save_sink modelport_save_sink;
typedef struct modelport_list_sink modelport_list_sink;
typedef struct modelport_info_sink modelport_info_sink;
typedef struct modelport_call_context modelport_call_context;

typedef struct modelport_span {
  const void* data; /* NULL with size 0 means "absent" where a field may be absent */
  size_t size;
} modelport_span;

typedef struct modelport_option {
  const char* key;
  const char* value;
} modelport_option;

/* Where and how a handler works: created with the handler, valid until it is destroyed. */
typedef struct modelport_request_options {
  uint32_t struct_size;
  const modelport_option* options; /* scheme-specific string key/values (-o key=value) */
  size_t option_count;
  const modelport_option* headers; /* http: sent with every request */
  size_t header_count;
  const char* method;              /* NULL: the scheme's default */
  const char* weight_path_prefix;  /* NULL: none */
  uint32_t has_weight_url_converter; /* nonzero: call host->convert_weight_url */
  modelport_call_context* context; /* for progress, cancellation and the URL converter */
} modelport_request_options;

/* A model to save: every field as compact JSON text exactly as JS JSON.stringify writes it
 * (so plugins can build documents by concatenation, byte-exact), NULL data = absent; an
 * explicit null is the text "null". Weight bytes are the concatenation of the chunks, or, when
 * weights_streamed is set (v1.1), of the parts host->save_next_weights hands out in order. */
typedef struct modelport_artifacts_view {
  uint32_t struct_size;
  modelport_span fields[MODELPORT_FIELD_COUNT];
  uint32_t topology_is_binary;      /* nonzero: fields[MODEL_TOPOLOGY] holds raw bytes (GraphDef) */
  uint32_t has_weight_data;         /* zero: weight data absent (not just empty) */
  const modelport_span* weight_chunks;
  size_t weight_chunk_count;
  uint64_t weight_data_size;
  /* v1.1. Nonzero: weight_chunks is NULL and the weight_data_size bytes come from
   * host->save_next_weights, one part at a time (a streaming copy: the whole model is never in
   * memory). The core sets it only for schemes that declare MODELPORT_CAP_SAVE_STREAMED. */
  uint32_t weights_streamed;
} modelport_artifacts_view;

/* ModelArtifactsInfo. Byte counts are -1 when unknown. */
typedef struct modelport_model_info {
  uint32_t struct_size;
  int64_t date_saved_ms;           /* milliseconds since the Unix epoch, UTC */
  const char* model_topology_type; /* "JSON" (NULL means "JSON") */
  int64_t model_topology_bytes;
  int64_t weight_specs_bytes;
  int64_t weight_data_bytes;
} modelport_model_info;

/* Services the core gives every plugin. A plugin links nothing of the core: it calls these. */
typedef struct modelport_host_api {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  const char* core_version;

  /* Describe a failure; returns `code` so `return host->status_set(st, code, msg);` works. */
  int (*status_set)(modelport_status* status, int code, const char* message);
  void (*log)(int level, const char* plugin_name, const char* message);

  /* -- during a call that has a context (handlers, list, remove) -- */
  void (*report_progress)(modelport_call_context* context, uint64_t bytes_done, int64_t bytes_total, const char* current);
  int (*is_cancelled)(modelport_call_context* context);
  /* The caller's weight URL converter: writes the URL for `manifest_path` through `out_url`
   * (called once with the text). Returns a status; on failure `status` is set. */
  int (*convert_weight_url)(modelport_call_context* context, const char* manifest_path,
                            void (*out_url)(void* out_context, const char* url, size_t size), void* out_context,
                            modelport_status* status);

  /* -- building a loaded model -- */
  /* Parses a model.json (or a bare weights-manifest array) the way TensorFlow.js does and sets
   * every field it holds; `source` names it in errors. Afterwards the manifest's shard paths are
   * available through load_shard_count / load_shard_path, in manifest order. */
  int (*load_set_model_json)(modelport_load_sink* sink, const char* json, size_t size, const char* source,
                             modelport_status* status);
  size_t (*load_shard_count)(modelport_load_sink* sink);
  const char* (*load_shard_path)(modelport_load_sink* sink, size_t index);
  /* Sets one field from its JSON text (for MODEL_TOPOLOGY with `binary` nonzero: raw bytes). */
  int (*load_set_field)(modelport_load_sink* sink, int field, const void* data, size_t size, int binary,
                        const char* source, modelport_status* status);
  /* Appends weight bytes. copy: the core copies them now. owned: the core keeps the pointer and
   * calls release(release_context) once when no buffer refers to it any more (an mmap reaches
   * the user with no copy; the library is never unloaded, so `release` stays callable). When
   * load_append_weights_owned fails, the core has not taken the memory: the plugin releases it. */
  int (*load_append_weights_copy)(modelport_load_sink* sink, const void* data, size_t size, modelport_status* status);
  int (*load_append_weights_owned)(modelport_load_sink* sink, const void* data, size_t size,
                                   void (*release)(void* release_context), void* release_context,
                                   modelport_status* status);
  /* Appends a core-owned chunk of `size` bytes and returns where to write them (valid until the
   * load call returns): bodies stream straight into their final buffer. NULL on failure. */
  void* (*load_append_weights_alloc)(modelport_load_sink* sink, size_t size, modelport_status* status);

  /* -- results -- */
  void (*save_set_info)(modelport_save_sink* sink, const modelport_model_info* info);
  /* Adds a transport response (a JSON object text, e.g. {"status":200}) to SaveResult.responses. */
  void (*save_add_response)(modelport_save_sink* sink, const char* json, size_t size);
  void (*list_add)(modelport_list_sink* sink, const char* model_path, const modelport_model_info* info);
  void (*info_set)(modelport_info_sink* sink, const modelport_model_info* info);

  /* -- codecs the core shares -- */
  /* ModelArtifactsInfo of a stored model.json (or bare manifest) exactly as TensorFlow.js
   * computes it: byte counts of the compact JSON of its topology and of its weight specs.
   * weight_data_bytes comes out -1 (only the plugin knows its shard sizes), date_saved_ms 0,
   * model_topology_type "JSON" (static storage). */
  int (*model_json_info)(const char* json, size_t size, const char* source, modelport_model_info* out,
                         modelport_status* status);

  /* -- v1.1: streaming copies (present when struct_size covers them) -- */
  /* Nonzero when this load is the source of a streaming copy: weight bytes appended with
   * load_append_weights_deferred are then read one shard at a time, while the copy is saved. */
  int (*load_deferred_allowed)(modelport_load_sink* sink);
  /* Appends `size` weight bytes that the core reads later: it calls fill(context, dest, size,
   * status) at most once, which writes exactly `size` bytes to `dest` (or fails with a status
   * naming the URL). Fills of one load run one at a time, on any thread, possibly after the load
   * returned and its handler was destroyed, so `context` holds everything fill needs (for a
   * consistent snapshot: open files, a read transaction). release(context) runs exactly once
   * when the core no longer needs the shard, whether fill ran or not. When deferral is not
   * allowed the core calls fill before this returns. When this call fails, the core has not
   * taken `context`: the plugin releases it. */
  int (*load_append_weights_deferred)(modelport_load_sink* sink, uint64_t size,
                                      int (*fill)(void* context, void* dest, uint64_t size, modelport_status* status),
                                      void (*release)(void* context), void* context, modelport_status* status);
  /* During a save whose view has weights_streamed set: the next part of the weight bytes, in
   * order. *out stays valid until the next call or until the save returns; after the last part
   * it is {NULL, 0}. A saver reads until it gets {NULL, 0} before it commits: only then have the
   * source's checks (sizes, digests) passed for every byte. A failure (the source cannot be read, fails its digests, the copy was
   * cancelled) returns its code with `status` set, and the save must then fail without
   * committing anything. */
  int (*save_next_weights)(modelport_save_sink* sink, modelport_span* out, modelport_status* status);
  /* As load_append_weights_deferred, but the bytes stay in plugin memory (a mapping of the stored
   * file, say) instead of being copied into the core's: when the core needs the shard it calls
   * produce(context, out, &bytes_release, &bytes_context, status), which points *out at exactly
   * `size` bytes that stay valid until the core calls bytes_release(bytes_context), once. */
  int (*load_append_weights_deferred_owned)(
      modelport_load_sink* sink, uint64_t size,
      int (*produce)(void* context, modelport_span* out, void (**bytes_release)(void*), void** bytes_context,
                     modelport_status* status),
      void (*release)(void* context), void* context, modelport_status* status);
  /* Starts the next stored shard (file, row, URL): the weight bytes appended from here until the
   * next call belong to it. Optional: without it each appended piece counts as a shard. A plugin
   * that hands one big file over in several pieces (each mapped or read on its own, so a copy
   * never holds the whole file) calls it once per file, and copies still see the stored layout
   * (to keep the shard size). */
  void (*load_begin_shard)(modelport_load_sink* sink);
} modelport_host_api;

/* A handler instance, made for one URL. The core never looks inside `impl`. */
typedef struct modelport_handler {
  void* impl;
} modelport_handler;

/* Operations on a handler (one table per scheme). */
typedef struct modelport_handler_ops {
  uint32_t struct_size;
  void (*destroy)(modelport_handler* handler);                                   /* required */
  int (*save)(modelport_handler* handler, const modelport_artifacts_view* artifacts,
              modelport_save_sink* result, modelport_status* status);           /* iff CAP_SAVE */
  int (*load)(modelport_handler* handler, modelport_load_sink* out, modelport_status* status); /* iff CAP_LOAD */
} modelport_handler_ops;

/* One URL scheme a plugin serves. */
typedef struct modelport_scheme_descriptor {
  uint32_t struct_size;
  const char* prefix; /* "name://": lower-case letter, then [a-z0-9+.-], then "://" */
  uint32_t capabilities;
  const modelport_handler_ops* handler_ops;
  /* The factory: a handler for `url` (the full URL) with these options. */
  int (*create_handler)(void* plugin_state, const char* url, const modelport_request_options* options,
                        modelport_handler* out, modelport_status* status);
  /* Model management (ModelStoreManager). `url` is the scheme root or a model URL. */
  int (*list_models)(void* plugin_state, const char* url, const modelport_request_options* options,
                     modelport_list_sink* out, modelport_status* status);                  /* iff CAP_LIST */
  int (*remove_model)(void* plugin_state, const char* url, const modelport_request_options* options,
                      modelport_info_sink* removed, modelport_status* status);             /* iff CAP_REMOVE */
} modelport_scheme_descriptor;

/* What a plugin is. Filled by the entry function; points at static storage of the plugin. */
typedef struct modelport_plugin_descriptor {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  const char* plugin_name;    /* [a-z0-9_-]{1,64} */
  const char* plugin_version;
  const char* sdk_version;
  const char* build_info;     /* compiler, standard library, OS: diagnostics only */
  const modelport_scheme_descriptor* schemes;
  size_t scheme_count;
  /* Optional. Called once after validation; `*plugin_state` is passed back to every call. */
  int (*init)(void** plugin_state, const modelport_host_api* host, modelport_status* status);
  /* Required when init is set. Called once, at finalize. */
  void (*shutdown)(void* plugin_state);
} modelport_plugin_descriptor;

/* The entry point every plugin exports as MODELPORT_PLUGIN_ENTRY_SYMBOL. Describe only: no
 * work, no side effects, the same answer every time. It points `*out` at the plugin's own
 * descriptor (static storage): the core copies as much of it as both sides know, so a plugin
 * built against a newer minor never writes past what an older core allocated. */
typedef int (*modelport_plugin_entry_fn)(const modelport_host_api* host, const modelport_plugin_descriptor** out,
                                         modelport_status* status);

/* Stamps the ABI version this plugin was compiled against (call in the entry function). */
static inline void modelport_set_version_metadata(modelport_plugin_descriptor* d) {
  d->struct_size = (uint32_t)sizeof(modelport_plugin_descriptor);
  d->abi_major = MODELPORT_PLUGIN_ABI_MAJOR;
  d->abi_minor = MODELPORT_PLUGIN_ABI_MINOR;
  d->sdk_version = MODELPORT_SDK_VERSION_STRING;
}

#ifdef __cplusplus
} /* extern "C" */
#endif

/* The v1 layouts (LP64). Sizes grow only by appending (the v1.0 size is kept in a comment);
 * any other change is an ABI break: bump MAJOR instead. */
#if defined(__LP64__) || defined(_WIN64)
#ifdef __cplusplus
#define MODELPORT_ABI_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define MODELPORT_ABI_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif
MODELPORT_ABI_ASSERT(sizeof(modelport_span) == 16, "modelport_span v1 size");
MODELPORT_ABI_ASSERT(sizeof(modelport_option) == 16, "modelport_option v1 size");
MODELPORT_ABI_ASSERT(sizeof(modelport_request_options) == 72, "modelport_request_options v1 size");
MODELPORT_ABI_ASSERT(sizeof(modelport_artifacts_view) == 224, "modelport_artifacts_view v1.1 size (v1.0: 216)");
MODELPORT_ABI_ASSERT(sizeof(modelport_model_info) == 48, "modelport_model_info v1 size");
MODELPORT_ABI_ASSERT(sizeof(modelport_host_api) == 200, "modelport_host_api v1.1 size (v1.0: 160)");
MODELPORT_ABI_ASSERT(sizeof(modelport_handler_ops) == 32, "modelport_handler_ops v1 size");
MODELPORT_ABI_ASSERT(sizeof(modelport_scheme_descriptor) == 56, "modelport_scheme_descriptor v1 size");
MODELPORT_ABI_ASSERT(sizeof(modelport_plugin_descriptor) == 80, "modelport_plugin_descriptor v1 size");
#undef MODELPORT_ABI_ASSERT
#endif

#endif /* MODELPORT_PLUGIN_ABI_H */
