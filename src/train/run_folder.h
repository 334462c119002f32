// The folder a training run writes (--out), as one consistent unit on disk:
//
//   model.<iter>.safetensors  the weights of the last resumable checkpoint (its generation)
//   model.state               the training state (train_state.h); it names the generation it
//                             belongs to, and writing it (temporary file, fsync, rename) is the
//                             commit of a checkpoint
//   model.safetensors         a hard link to that generation, for `wiggle sample` and PyTorch
//   best.safetensors          the best validation loss so far (one file, written atomically)
//   metrics.csv, loss.svg     the log and its curve
//   .lock                     held (flock) by the process training into the folder
//
// A save writes the new generation, then commits model.state, then links model.safetensors and
// removes older generations. A crash or a full disk at any instant leaves model.state naming a
// complete generation that is still there, so --resume always continues from the last commit;
// the next start removes what a killed save left behind (temporary files, an uncommitted
// generation) and repairs the link. Two runs cannot write one folder: the second is refused with
// one line naming the first's process.
#pragma once

#include <string>

#include "nn/gpt_weights.h"
#include "text/tokenizer.h"
#include "train/train_state.h"

namespace wiggle {

class RunFolder {
  public:
    // Creates the folder and its parents if needed (two runs starting at once both succeed or
    // see each other's lock), takes its lock, and cleans up after a killed save. Exits with one
    // line when the folder cannot be made or another process holds it.
    static RunFolder open(const std::string& out);
    RunFolder(RunFolder&& other) noexcept;
    RunFolder& operator=(RunFolder&&) = delete;
    ~RunFolder();  // releases the lock

    const std::string& path() const { return out_; }

    // Commits a resumable checkpoint: the weights, then `state` naming them (sets
    // state.weights_file).
    void save(const GptWeights& weights, const Tokenizer& tokenizer, TrainState& state) const;

  private:
    explicit RunFolder(std::string out, int lock_fd) : out_(std::move(out)), lock_fd_(lock_fd) {}
    // model.safetensors made a link to `generation`; every other generation removed.
    void publish(const std::string& generation) const;
    void recover() const;

    std::string out_;
    int lock_fd_ = -1;
};

// The paths inside a run folder.
std::string model_path(const std::string& out);  // <out>/model.safetensors
std::string state_path(const std::string& out);  // <out>/model.state
std::string best_path(const std::string& out);   // <out>/best.safetensors
std::string curve_path(const std::string& out);  // <out>/loss.svg
// The weights a saved state belongs to: its generation (model.safetensors for states written
// before generations).
std::string weights_path(const std::string& out, const TrainState& state);

}  // namespace wiggle
