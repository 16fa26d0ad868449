package org.llmwb.core.calc;

import static org.llmwb.core.Formula.num;

import java.util.List;

import org.llmwb.core.Formula;
import org.llmwb.core.InputException;

/**
 * KV memory a set of sequences wastes under two allocation schemes. Contiguous: every sequence
 * reserves maxLength slots up front. Paged: a sequence holds ceil(length / blockSize) blocks, so
 * only the tail of its last block is unused.
 */
public final class PagingWaste {
    public record Result(long sequences, long usedTokens, long contiguousAllocated, long pagedAllocated, double contiguousWaste,
            double pagedWaste, List<Formula> formulas) {
    }

    private PagingWaste() {
    }

    public static Result compute(long[] lengths, long maxLength, int blockSize) {
        if (lengths.length == 0) {
            throw new InputException("need at least one sequence length");
        }
        if (blockSize <= 0 || maxLength <= 0) {
            throw new InputException("block size and max length must be > 0");
        }
        long used = 0;
        long paged = 0;
        for (long len : lengths) {
            if (len <= 0 || len > maxLength) {
                throw new InputException("sequence length " + len + " is outside 1.." + maxLength);
            }
            used += len;
            paged += (len + blockSize - 1) / blockSize * blockSize;
        }
        long contiguous = lengths.length * maxLength;
        double cw = 1 - (double) used / contiguous;
        double pw = 1 - (double) used / paged;
        return new Result(lengths.length, used, contiguous, paged, cw, pw, List.of(
                new Formula("contiguous slots", "sequences × maxLength", lengths.length + " × " + num(maxLength), contiguous, "tokens"),
                new Formula("paged slots", "Σ ceil(len ÷ blockSize) × blockSize", "Σ over " + lengths.length + " sequences, blockSize " + blockSize, paged, "tokens"),
                new Formula("contiguous waste", "1 − used ÷ contiguous slots", "1 − " + num(used) + " ÷ " + num(contiguous), cw, ""),
                new Formula("paged waste", "1 − used ÷ paged slots", "1 − " + num(used) + " ÷ " + num(paged), pw, "")));
    }
}
