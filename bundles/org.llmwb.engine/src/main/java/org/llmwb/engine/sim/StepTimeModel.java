package org.llmwb.engine.sim;

import java.util.List;

import org.llmwb.engine.model.SeqInput;

/** How long one engine step takes on a replica, from exactly what the scheduler put in it. */
public interface StepTimeModel {
    /** Seconds of one step over these sequences (new tokens, cached tokens, logits rows). */
    double seconds(List<SeqInput> inputs);

    /** One line saying what the model assumes. */
    String describe();
}
