package dev.edgekit.core

/** One result: a label and its score (probability). */
class Prediction(val label: String, val score: Float, val index: Int) {
    override fun toString(): String = "$label: $score"
}

/** Ranking with the rules of Python's `device.postprocess.top_k`. */
object TopK {
    /**
     * The [k] best predictions, best first; ties broken by the lower index. [skipIndex]: a class never reported
     * (the background); [threshold]: scores below it are dropped; non-finite scores are never reported.
     */
    fun topK(
        scores: FloatArray, labels: List<String>, k: Int = 5, threshold: Float? = null, skipIndex: Int? = null
    ): List<Prediction> {
        require(k >= 1) { "top_k must be at least 1, got $k" }
        require(labels.size >= scores.size) { "${labels.size} labels for ${scores.size} scores" }
        val n = Math.min(k, scores.size - (if (skipIndex != null) 1 else 0))
        if (n <= 0) return emptyList()
        // Selection of the n best by (score desc, index asc); NaN and the skipped class rank last.
        val chosen = IntArray(n) { -1 }
        var count = 0
        for (i in scores.indices) {
            if (i == skipIndex) continue
            if (count == n && !better(scores, i, chosen[n - 1])) continue
            var at = if (count < n) count++ else n - 1
            while (at > 0 && better(scores, i, chosen[at - 1])) {
                chosen[at] = chosen[at - 1]
                at--
            }
            chosen[at] = i
        }
        val out = ArrayList<Prediction>(n)
        for (j in 0 until count) {
            val i = chosen[j]
            val s = scores[i]
            if (s.isNaN() || s.isInfinite()) continue
            if (threshold != null && s < threshold) continue
            out.add(Prediction(labels[i], s, i))
        }
        return out
    }

    /** Whether class [a] ranks before class [b]: higher score, or equal score and lower index. */
    private fun better(scores: FloatArray, a: Int, b: Int): Boolean {
        val sa = scores[a]
        val sb = scores[b]
        if (sa.isNaN()) return false
        if (sb.isNaN()) return true
        return sa > sb || (sa == sb && a < b)
    }
}
