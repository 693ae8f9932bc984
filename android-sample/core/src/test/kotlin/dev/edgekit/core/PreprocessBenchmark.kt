package dev.edgekit.core

/**
 * JVM benchmark of the contract's preprocessing of one 640x480 camera frame to 224x224 (crop + resize), for each
 * resize filter (versions 1, 2 and 3 of the contract): prints the median and spread of several rounds. Not a test; run by
 * `benchmarks/bench_kotlin_preprocess.sh` (arguments: rounds, calls per round).
 */
fun main(args: Array<String>) {
    val rounds = args.getOrNull(0)?.toInt() ?: 7
    val calls = args.getOrNull(1)?.toInt() ?: 200
    val width = 640
    val height = 480
    val frame = IntArray(width * height) { i ->
        val x = i % width
        val y = i / width
        (0xFF shl 24) or ((x * 255 / (width - 1)) shl 16) or ((y * 255 / (height - 1)) shl 8) or ((x xor y) and 0xFF)
    }
    val filters = listOf(PreprocessConfig.LEGACY_RESIZE_FILTER, PreprocessConfig.V2_RESIZE_FILTER,
        PreprocessConfig.RESIZE_FILTER)
    val configs = filters.map { PreprocessConfig(224, 224, resize = it) }
    val out = ByteArray(224 * 224 * 3)
    for (config in configs) repeat(300) { Preprocessor.preprocessInto(frame, width, height, 1, config, out) } // JIT
    val times = filters.associateWith { ArrayList<Double>() }
    for (round in 0 until rounds) { // interleaved, so that a busy moment of a shared CPU hits both filters
        for ((filter, config) in filters.zip(configs)) {
            val start = System.nanoTime()
            repeat(calls) { Preprocessor.preprocessInto(frame, width, height, 1, config, out) }
            times.getValue(filter).add((System.nanoTime() - start) / 1e6 / calls)
        }
    }
    println("640x480 frame -> 224x224, ms per frame (median of $rounds rounds x $calls calls; min-max):")
    val medians = HashMap<String, Double>()
    for (filter in filters) {
        val t = times.getValue(filter).sorted()
        medians[filter] = t[t.size / 2]
        println(String.format("  %-22s %.3f ms  (%.3f-%.3f)", filter, t[t.size / 2], t.first(), t.last()))
    }
    for (older in filters.dropLast(1)) {
        val speedup = medians.getValue(older) / medians.getValue(PreprocessConfig.RESIZE_FILTER)
        println(String.format("  %s is %.2fx faster than %s", PreprocessConfig.RESIZE_FILTER, speedup, older))
    }
}
