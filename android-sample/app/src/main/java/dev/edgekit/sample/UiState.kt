package dev.edgekit.sample

import dev.edgekit.core.Prediction

/** What the screen shows. Kept in the ViewModel, so it survives rotation. */
data class UiState(
    val mode: Mode = Mode.CAMERA,
    val modelSummary: String = "Loading model…",
    val predictions: List<Prediction> = emptyList(),
    val preprocessMs: Double = 0.0,
    val inferenceMs: Double = 0.0,
    val accelerator: String = "",
    /** An error or notice for the user (GPU fallback, permission denied, unreadable photo), or null. */
    val message: String? = null,
    val settings: AppSettings = AppSettings(),
    /** The `.tflite` files bundled in the assets (the model button cycles through them). */
    val models: List<String> = emptyList(),
    /** The photo being shown in PHOTO mode. */
    val photo: android.net.Uri? = null,
    /** In PHOTO mode: the model's input pixels (what the preprocessing contract made of the photo). */
    val modelInput: android.graphics.Bitmap? = null
) {
    enum class Mode { CAMERA, PHOTO }
}
