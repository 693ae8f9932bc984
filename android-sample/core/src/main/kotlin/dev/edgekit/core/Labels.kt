package dev.edgekit.core

/** Labels files and the background class, with the rules of Python's `device.labels` and `device.metadata`. */
object Labels {
    /** Labels that mark index 0 as a background ("nothing recognised") class, compared ignoring case. */
    val BACKGROUND_LABELS = listOf("background", "???")

    /**
     * Labels from the text of a labels file: one per line, surrounding whitespace stripped, trailing empty lines
     * dropped; a UTF-8 byte-order mark and any line ending (as Python's `splitlines`) are handled.
     */
    fun parse(text: String): List<String> {
        var s = text
        while (s.startsWith("\uFEFF")) s = s.substring(1)
        val lines = ArrayList<String>()
        var start = 0
        var i = 0
        while (i < s.length) {
            val c = s[i]
            if (isLineBreak(c)) {
                lines.add(s.substring(start, i).trim())
                if (c == '\r' && i + 1 < s.length && s[i + 1] == '\n') i++
                start = i + 1
            }
            i++
        }
        if (start < s.length) lines.add(s.substring(start).trim())
        while (lines.isNotEmpty() && lines[lines.size - 1].length == 0) lines.removeAt(lines.size - 1)
        return lines
    }

    /** Labels from the bytes of a labels file (UTF-8, invalid bytes replaced). */
    fun parse(bytes: ByteArray): List<String> = parse(String(bytes, Charsets.UTF_8))

    /**
     * Labels from the bytes of a labels file, refusing what makes them wrong, as Python's
     * `device.metadata.labels_from_bytes`: bytes that are not UTF-8 and an empty line among the labels (an output
     * with no name). [where] names the file in the message (`model.tflite: packed labels.txt`).
     */
    fun fromBytes(bytes: ByteArray, where: String): List<String> {
        val decoder = Charsets.UTF_8.newDecoder()
            .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
            .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
        val text = try {
            decoder.decode(java.nio.ByteBuffer.wrap(bytes)).toString()
        } catch (e: java.nio.charset.CharacterCodingException) {
            throw ModelException("$where is not UTF-8 text; save the labels as UTF-8 and re-export the model.", e)
        }
        val labels = parse(text)
        val empty = labels.indexOfFirst { it.isEmpty() }
        if (empty >= 0) {
            throw ModelException("$where: line ${empty + 1} is empty, so output $empty has no label; put one label on " +
                "every line, in output order, and re-export the model.")
        }
        return labels
    }

    /** Whether [label] names a background class (`background` or `???`, any case). */
    fun isBackground(label: String): Boolean {
        val t = label.trim()
        return BACKGROUND_LABELS.any { it.equals(t, ignoreCase = true) }
    }

    private fun isLineBreak(c: Char): Boolean = c == '\n' || c == '\r' || c == '\u000B' || c == '\u000C' ||
        c == '\u001C' || c == '\u001D' || c == '\u001E' || c == '\u0085' || c == '\u2028' || c == '\u2029'
}
