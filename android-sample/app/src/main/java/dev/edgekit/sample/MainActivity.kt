package dev.edgekit.sample

import android.Manifest
import android.content.pm.PackageManager
import android.os.Bundle
import android.view.View
import android.widget.Button
import android.widget.ImageView
import android.widget.TextView
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.activity.viewModels
import androidx.appcompat.app.AppCompatActivity
import androidx.appcompat.widget.SwitchCompat
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.Preview
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.core.content.ContextCompat
import java.util.Locale

/**
 * One screen: live camera classification (CameraX preview + ImageAnalysis), or a photo from the gallery; the top
 * results with scores, the preprocessing and inference times, a GPU toggle and the CPU thread count. State lives in
 * [ClassifierViewModel], so rotation keeps it; the camera is bound to this activity's lifecycle.
 */
class MainActivity : AppCompatActivity() {
    private val viewModel: ClassifierViewModel by viewModels()
    private lateinit var preview: PreviewView
    private lateinit var modelInput: ImageView
    private lateinit var gpu: SwitchCompat
    private lateinit var threads: Button
    private var cameraBound = false

    private val cameraPermission = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) startCamera() else viewModel.cameraDenied()
    }

    // The Photo Picker (falls back to ACTION_OPEN_DOCUMENT where the picker is unavailable); no storage permission.
    private val pickPhoto = registerForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null) viewModel.classifyPhoto(uri)
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        preview = findViewById(R.id.preview)
        modelInput = findViewById(R.id.model_input)
        gpu = findViewById(R.id.gpu)
        threads = findViewById(R.id.threads)
        val summary = findViewById<TextView>(R.id.model_summary)
        val results = findViewById<TextView>(R.id.results)
        val timing = findViewById<TextView>(R.id.timing)
        val message = findViewById<TextView>(R.id.message)

        findViewById<Button>(R.id.pick_photo).setOnClickListener {
            pickPhoto.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly))
        }
        findViewById<Button>(R.id.live_camera).setOnClickListener {
            viewModel.useCamera()
            if (!hasCameraPermission()) cameraPermission.launch(Manifest.permission.CAMERA)
        }
        threads.setOnClickListener {
            val s = viewModel.state.value ?: return@setOnClickListener
            val next = when (s.threads) { 1 -> 2; 2 -> 4; else -> 1 }
            viewModel.reload(s.useGpu, next)
        }

        viewModel.state.observe(this) { s ->
            summary.text = s.modelSummary
            results.text = if (s.predictions.isEmpty()) "" else s.predictions.joinToString("\n") {
                String.format(Locale.ROOT, "%5.1f%%  %s", it.score * 100, it.label)
            }
            timing.text = if (s.predictions.isEmpty()) s.accelerator else String.format(
                Locale.ROOT, "preprocess %.1f ms, inference %.1f ms on %s", s.preprocessMs, s.inferenceMs, s.accelerator
            )
            message.text = s.message ?: ""
            message.visibility = if (s.message == null) View.GONE else View.VISIBLE
            threads.text = getString(R.string.threads, s.threads)
            gpu.setOnCheckedChangeListener(null) // set without triggering a reload
            gpu.isChecked = s.useGpu
            gpu.setOnCheckedChangeListener { _, checked -> viewModel.reload(checked, viewModel.state.value?.threads ?: 2) }
            val photo = s.mode == UiState.Mode.PHOTO
            modelInput.visibility = if (photo) View.VISIBLE else View.GONE
            modelInput.setImageBitmap(if (photo) s.modelInput else null)
        }

        if (hasCameraPermission()) {
            startCamera()
        } else if (savedInstanceState == null) {
            cameraPermission.launch(Manifest.permission.CAMERA)
        }
    }

    private fun hasCameraPermission(): Boolean =
        ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED

    /** Bind preview + analysis to this activity's lifecycle: CameraX stops them when it is destroyed. */
    private fun startCamera() {
        if (cameraBound) return
        cameraBound = true
        val future = ProcessCameraProvider.getInstance(this)
        future.addListener({
            val provider = try {
                future.get()
            } catch (e: Exception) {
                cameraBound = false
                viewModel.cameraFailed(e.message ?: e.toString())
                return@addListener
            }
            val previewUseCase = Preview.Builder().build()
            previewUseCase.setSurfaceProvider(preview.surfaceProvider)
            val analysis = ImageAnalysis.Builder()
                .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
                .build()
            analysis.setAnalyzer(viewModel.inferenceExecutor, viewModel.analyzer)
            try {
                provider.unbindAll()
                provider.bindToLifecycle(this, CameraSelector.DEFAULT_BACK_CAMERA, previewUseCase, analysis)
            } catch (e: Exception) {
                cameraBound = false
                viewModel.cameraFailed(e.message ?: e.toString())
            }
        }, ContextCompat.getMainExecutor(this))
    }
}
