"""Hints for the course exercises, hidden until asked for: `hint("2.1")`, then `hint("2.1", level=2)`.

Level 1 is a nudge (what to think about), level 2 the idea (the plan in words). Neither gives the
code: the exercise is the student's to write. tests/course/test_exercises.py checks that no hint
contains a line of a reference solution.
"""

HINTS = {
    "0.1": ["Which Tensor operations do you need so that .backward() can follow every step?",
            "Subtract, square element by element, then average over every element (one number). No numpy "
            "calls: they would cut the gradient's path."],
    "1.1": ["A set gives the distinct characters; what makes the ids independent of the text's order?",
            "Sort the distinct characters: that list is itos (id -> character). stoi maps each character "
            "back to its position in that list."],
    "1.2": ["What should happen to a character the vocabulary has never seen, and what should the message say?",
            "encode: look every character up and build an int64 array; turn a failed lookup into a ValueError "
            "that names the character. decode: look every id up and join the characters into one string."],
    "1.3": ["Draw the window for one start s on paper: which T ids are the inputs, which T ids the targets?",
            "Row b of x is the T ids starting at starts[b]; row b of y is the same window moved one id to the "
            "right. Without a loop: one array of all the positions you need, shape (B, T), then index data "
            "with it."],
    "1.4": ["Which axis is the current character, which the next one? Which of them must sum to 1?",
            "Count each adjacent pair (current, next) into a (V, V) table, add the smoothing everywhere, "
            "then divide each row by its own total. The loss: look up the probability of every true next "
            "character, take minus the log, average."],
    "2.1": ["Try your function on a (2, 3) matrix and on [[0, 1], [-1000, -999]]. What shape does x.max(axis) "
            "have, and whose max should each row subtract?",
            "Subtract each row's own maximum (keep the reduced axis so it broadcasts), exponentiate, divide by "
            "the sum along the same axis (kept as well)."],
    "2.2": ["Which entries are the future for query t: keys before t, t itself, or after t?",
            "True strictly above the diagonal (key s > query t), False on and below it. numpy has a function "
            "for the upper triangle with an offset, or compare two position ranges shaped (T, 1) and (1, T)."],
    "2.3": ["Write down the shape of every intermediate: q (..., T, d) times what gives (..., T, T)?",
            "Scores: q times k with its LAST TWO axes swapped, divided by √d. Mask the future to -inf before "
            "the softmax (after it, the rows no longer sum to 1). Softmax over the keys (the last axis), "
            "then the weights times v."],
    "2.4": ["Exercise 2.3's recipe, but every step must stay a Tensor. Which Tensor methods replace the numpy calls?",
            "Project x three times, score q against k transposed on its last two axes, scale by 1/√head_size, "
            "fill the masked scores with -inf, softmax over the last axis, keep the weights' numpy data, "
            "multiply by v."],
    "2.5": ["Write the shapes down: (B, T, 3C) -> three (B, T, C) -> (B, H, T, d). Which axis order must the "
            "heads have so that one batched matmul handles all heads at once?",
            "Split the qkv output into thirds along the channels; give each a head axis by reshaping to "
            "(B, T, H, d) and moving H before T. Attend per head (scale by the HEAD size, mask, softmax). "
            "Merge: move H back after T, reshape to (B, T, C), then the output projection."],
    "3.1": ["Over which axis do you normalise: the batch, the time steps, or each token's channels?",
            "Mean and variance over the last axis (kept for broadcasting, the variance divided by C, not C - 1), "
            "subtract the mean, divide by the square root of variance + eps, then scale by weight, add bias."],
    "3.2": ["Transcribe the formula factor by factor: which parts are constants, which Tensor operations?",
            "Build the inner part x + 0.044715·x³ (cube as x times x times x), scale it by √(2/π), take its tanh "
            "with the Tensor method, add 1, multiply by x/2."],
    "3.3": ["Pre-LN: where exactly is each LayerNorm, and what is added to what?",
            "Two residual updates of the same stream: the stream plus attention of a normalised copy, then "
            "the updated stream plus the MLP of another normalised copy."],
    "3.4": ["Which columns are sines, which cosines, and which frequency does each pair share?",
            "One column of positions times one row of frequencies ω_i (one per channel PAIR) gives all the "
            "angles at once; fill the even columns with their sines and the odd columns with their cosines."],
    "4.1": ["What does the model need besides the token ids to tell 'ab' from 'ba'? And what runs after the blocks?",
            "Token embeddings plus the first T rows of the position embedding table, then every block in "
            "order, then the final LayerNorm, then the head: logits (B, T, V)."],
    "4.2": ["Try your loss on logits around 1000. What does exp do there, and what constant can you take out "
            "of a log-sum-exp without changing it?",
            "Per position: log Σ exp(z) computed as m + log Σ exp(z - m) with m the row's max, minus the logit "
            "of the target class (fancy indexing with the row numbers and the targets); average over "
            "positions. Flatten (B, T, V) to (B·T, V) first."],
    "4.3": ["What is still stored in .grad from the previous step, and when must the clip happen?",
            "Clear the old gradients, run the model, score its logits with loss_fn, backward, clip the global "
            "norm, update, and return the loss as a Python number."],
    "4.4": ["Temperature first or top-k first? What does a logit of -inf become after the softmax?",
            "Zero temperature means the most likely id. Otherwise divide by the temperature, hide everything "
            "below the k-th largest logit, turn the rest into probabilities with a stable softmax and let "
            "the generator choose with them."],
    "5.1": ["Go through the table above row by row; which rows depend on L?",
            "Embeddings (two tables) + L times one block (two LayerNorms, attention with biases, MLP with "
            "biases; its hidden layer is config.mlp_ratio · C wide) + the final LayerNorm + the head without a bias."],
    "5.2": ["How many numbers does AdamW keep for every weight, besides the weight itself?",
            "Weights, gradients: one number each per parameter; AdamW's state: two (m and v). Multiply by the "
            "bytes per number, and add up."],
    "5.3": ["How many FLOPs is one multiply-add? Which term depends on the context?",
            "Twice the weights that take part in matrix products ((4 + 2r)·C² per layer, r = config.mlp_ratio, "
            "plus the head), plus the "
            "attention term that grows with the context T."],
}


def hint(exercise_id: str, level: int = 1) -> None:
    """Print the hint for exercise `exercise_id`: level 1 a nudge, level 2 the idea."""
    exercise_id = str(exercise_id)
    if exercise_id not in HINTS:
        raise KeyError(f"no hints for exercise {exercise_id!r}; exercises with hints: {', '.join(HINTS)}")
    levels = HINTS[exercise_id]
    if level not in range(1, len(levels) + 1):
        raise ValueError(f"hint level must be 1 (a nudge) or 2 (the idea), got {level!r}")
    print(f"Hint {level}/{len(levels)} for Exercise {exercise_id}: {levels[level - 1]}")
    if level < len(levels):
        print(f"(still stuck? hint(\"{exercise_id}\", level={level + 1}))")
