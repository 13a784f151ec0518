/// The result of running a classifier on one frame, with how long each stage took.
public struct ClassifierOutput: Sendable {
    public var classification: Classification
    public var preprocessMilliseconds: Double
    public var inferenceMilliseconds: Double

    public init(classification: Classification, preprocessMilliseconds: Double,
                inferenceMilliseconds: Double) {
        self.classification = classification
        self.preprocessMilliseconds = preprocessMilliseconds
        self.inferenceMilliseconds = inferenceMilliseconds
    }
}

/// Turns a frame into a classification (the ResNet50 engine, or a scripted fake in tests).
public protocol Classifier: Sendable {
    /// The model this classifier runs, as reported in events.
    var model: ModelInfo { get }
    /// Classifies one frame. Blocks a thread for the length of a forward pass.
    func classify(_ frame: Frame) async throws -> ClassifierOutput
}
