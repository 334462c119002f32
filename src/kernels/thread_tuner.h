// Choosing a team's size by the clock, for a step that repeats (one decoded token).
//
// On an idle machine a team of every core decodes fastest. When another program keeps a core
// busy, the team member that shares it runs only part of the time, and every barrier waits for it:
// two threads then decode at about half the speed of one. No split of the work fixes that for a
// step of a few microseconds with barriers inside, so the tuner measures instead: it runs the step
// at the team size that is faster now, and every so often times a few steps at the other size, to
// notice when the other program has started or stopped. wiggle's results never depend on the
// thread count, so switching changes the speed only, never a number.
//
//   ThreadTuner tuner;
//   for (...) {
//       const int threads = tuner.next(num_threads());
//       auto t0 = steady_clock::now();  step(threads);
//       tuner.done(seconds since t0);
//   }
#pragma once

namespace wiggle::kernels {

class ThreadTuner {
  public:
    // Windows of the schedule, in seconds of steps: a trial times each size for about kTrial,
    // one after the other (so both see the same conditions); the faster one then runs for about
    // kRun before the next trial. A trial at the slower size costs at most kTrial / kRun of the
    // time: 5% when one thread is twice as slow. A trial that changes the size is checked by
    // another after only kRecheck: one hiccup of the machine (a VM's core taken away for a few
    // milliseconds, 10–40 steps' time) in a trial must not cost kRun at the slower size.
    static constexpr double kTrial = 0.02, kRecheck = 2 * kTrial, kRun = 0.4;

    // The threads for the next timed step: `most` (the team of every thread) or 1. The first
    // call, and a call with another `most`, start with a trial.
    int next(int most);
    // How long the step that next() chose took.
    void done(double seconds);
    // The size the last trial chose, for steps that are not timed (`most` before any trial).
    int chosen(int most) const { return most == most_ ? chosen_ : most; }

  private:
    enum class Phase { Run, TrialMost, TrialOne };
    void start(Phase phase);

    Phase phase_ = Phase::Run;
    int most_ = 0, chosen_ = 0, current_ = 0;
    bool changed_ = false;    // the last trial changed the size: the run lasts kRecheck
    double elapsed_ = 0.0;    // seconds timed in this phase
    long steps_ = 0;          // steps in this phase, the first one (a warm-up) not timed
    double most_rate_ = 0.0;  // steps per second at `most` in the current trial
};

}  // namespace wiggle::kernels
