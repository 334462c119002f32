// The companion of a checkpoint's model.safetensors: everything else `wiggle train --resume`
// needs to continue bit for bit as if it had never stopped — AdamW's moments and step count, the
// batch generator's state and position, the dropout counter, the settings, the best validation
// loss so far and the metrics history (for the log and the loss curve).
//
// Layout (little-endian):
//   "WIGGLEST"            8 bytes of magic
//   u32 version           kTrainStateVersion
//   u32 0                 reserved
//   u64 n                 payload bytes
//   payload               the fields of TrainState in order (see train_state.cpp)
//   u64 fnv1a64(payload)  catches any flipped or missing byte
// The state also records a hash of the parameters it was saved with and the file they are in, so
// a state file paired with someone else's weights is refused instead of silently resuming from a
// mix.
// Not a general serialization format: one struct, one version, rewritten atomically each time.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "util/io.h"

#include "util/py_random.h"

namespace wiggle {

// Version 2 added the number of ranks, version 3 the weights' file (earlier versions still load).
inline constexpr uint32_t kTrainStateVersion = 3;

// One row of the metrics log. Evaluation columns are NaN on iterations without an evaluation;
// iteration columns are NaN on the evaluation row written before the first iteration.
struct MetricRow {
    int iter = 0;       // iterations done when the row was recorded
    double loss = 0.0;  // training loss of that iteration's batch
    double val_loss = std::numeric_limits<double>::quiet_NaN();
    double train_eval = std::numeric_limits<double>::quiet_NaN();  // estimate over eval batches
    double lr = 0.0;
    double ms = 0.0;  // wall time of the iteration
    double tokens_per_s = 0.0;
};

struct TrainState {
    std::string config_text;  // config_to_text() of the run
    int iter = 0;             // iterations done; the next one to run
    int adam_t = 0;
    uint64_t dropout_counter = 0;
    PyRandom::State batch_rng{};
    uint64_t batches_drawn = 0;  // the data position: training batches drawn so far
    double best_val = std::numeric_limits<double>::infinity();
    int best_iter = -1;
    double elapsed_s = 0.0;    // training wall time so far
    uint64_t params_hash = 0;  // fnv1a64 of the parameters saved beside this state
    uint64_t data_hash = 0;    // fnv1a64 of the training file's bytes
    std::vector<float> adam_m, adam_v;
    std::vector<MetricRow> history;
    int ranks = 1;  // processes of the data-parallel run (a resume needs as many)
    // The file of the weights this state belongs to, in the run's folder (run_folder.h); empty
    // in states from before version 3 (then model.safetensors).
    std::string weights_file;
};

std::string serialize_train_state(const TrainState& s);
// The same file in pieces, the moments as views of s's vectors (save_train_state writes them
// without a copy).
FileParts train_state_parts(const TrainState& s);
// Exits with one line naming `path` if the bytes are truncated, corrupted, have the wrong magic
// or an unknown version.
TrainState parse_train_state(std::string_view bytes, const std::string& path);

void save_train_state(const std::string& path, const TrainState& s);  // atomic
TrainState load_train_state(const std::string& path);

}  // namespace wiggle
