package dev.edgekit.sample

import android.view.OrientationEventListener
import android.view.Surface

/**
 * The user's settings, like the official LiteRT image-classification sample's: how many results, the score
 * threshold, which bundled model, CPU or GPU, and CPU threads. Plain Kotlin; each button cycles one value.
 */
data class AppSettings(
    val maxResults: Int = 3,
    val threshold: Float = 0.1f,
    val model: String = ModelFiles.DEFAULT_MODEL,
    val useGpu: Boolean = false,
    val threads: Int = 2
) {
    fun nextMaxResults(): AppSettings = copy(maxResults = next(MAX_RESULTS, maxResults))
    fun nextThreshold(): AppSettings = copy(threshold = next(THRESHOLDS, threshold))
    fun nextThreads(): AppSettings = copy(threads = next(THREADS, threads))

    /** The model after the current one in [models] (wraps); the first one when the current is not bundled. */
    fun nextModel(models: List<String>): AppSettings {
        if (models.isEmpty()) return this
        val i = models.indexOf(model)
        return copy(model = models[(i + 1) % models.size])
    }

    /** Whether switching from [old] to this needs a new interpreter (model, accelerator or threads changed). */
    fun needsReload(old: AppSettings): Boolean = model != old.model || useGpu != old.useGpu || threads != old.threads

    companion object {
        val MAX_RESULTS = listOf(1, 3, 5, 10)
        val THRESHOLDS = listOf(0f, 0.1f, 0.3f, 0.5f, 0.7f)
        val THREADS = listOf(1, 2, 4)

        private fun <T> next(values: List<T>, current: T): T = values[(values.indexOf(current) + 1) % values.size]
    }
}

/** Device orientation to the CameraX target rotation, so frames stay upright after any turn (also 180°). */
object TargetRotation {
    /**
     * The `Surface.ROTATION_*` for an [OrientationEventListener] angle (degrees clockwise from natural), or null
     * for `ORIENTATION_UNKNOWN` (flat on a table: keep the last rotation).
     */
    fun forOrientation(degrees: Int): Int? = when {
        degrees == OrientationEventListener.ORIENTATION_UNKNOWN -> null
        degrees % 360 in 45 until 135 -> Surface.ROTATION_270
        degrees % 360 in 135 until 225 -> Surface.ROTATION_180
        degrees % 360 in 225 until 315 -> Surface.ROTATION_90
        else -> Surface.ROTATION_0
    }
}

/**
 * When the camera should be bound: only in camera mode (a shown photo stops the stream), with the permission, and
 * after a failure only once the user asks again ([retry], the "Live camera" button), never in a loop. [action] says
 * what the activity must do now.
 */
class CameraGate {
    enum class Action { NONE, BIND, UNBIND, ASK_PERMISSION }

    /** True from a bind request until it fails or the camera is unbound. */
    var bound = false
        private set
    /** The last bind failed; cleared by [retry]. */
    var failed = false
        private set

    fun action(mode: UiState.Mode, hasPermission: Boolean, mayAsk: Boolean): Action = when {
        mode == UiState.Mode.PHOTO -> if (bound) Action.UNBIND else Action.NONE
        bound || failed -> Action.NONE
        !hasPermission -> if (mayAsk) Action.ASK_PERMISSION else Action.NONE
        else -> Action.BIND
    }

    fun binding() { bound = true; failed = false }
    fun failed() { bound = false; failed = true }
    fun unbound() { bound = false }
    /** The user asked for the camera again: an earlier failure no longer blocks binding. */
    fun retry() { failed = false }
}
