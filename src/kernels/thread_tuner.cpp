// The team-size tuner (thread_tuner.h).
#include "kernels/thread_tuner.h"

namespace wiggle::kernels {

namespace {
// A trial times at least this many steps at each size (besides the warm-up step).
constexpr long kTrialSteps = 8;
}  // namespace

void ThreadTuner::start(Phase phase) {
    phase_ = phase;
    elapsed_ = 0.0;
    steps_ = 0;
    current_ = phase == Phase::TrialOne ? 1 : phase == Phase::TrialMost ? most_ : chosen_;
}

int ThreadTuner::next(int most) {
    if (most != most_) {
        most_ = chosen_ = most;
        changed_ = false;
        start(Phase::TrialMost);
    }
    return most_ <= 1 ? 1 : current_;
}

void ThreadTuner::done(double seconds) {
    if (most_ <= 1) return;
    // The first step of a phase at a new size pays for waking (or idling) the team: not timed.
    if (steps_++ > 0) elapsed_ += seconds;
    const long timed = steps_ - 1;
    switch (phase_) {
        case Phase::Run:
            if (elapsed_ >= (changed_ ? kRecheck : kRun)) start(Phase::TrialMost);
            break;
        case Phase::TrialMost:
            if (elapsed_ >= kTrial && timed >= kTrialSteps) {
                most_rate_ = timed / elapsed_;
                start(Phase::TrialOne);
            }
            break;
        case Phase::TrialOne:
            if (elapsed_ >= kTrial && timed >= kTrialSteps) {
                const int faster = timed / elapsed_ > most_rate_ ? 1 : most_;
                changed_ = faster != chosen_;
                chosen_ = faster;
                start(Phase::Run);
            }
            break;
    }
}

}  // namespace wiggle::kernels
