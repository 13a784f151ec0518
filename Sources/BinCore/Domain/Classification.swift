/// One scored label from a classifier's output.
public struct LabelScore: Sendable, Hashable, Codable {
    public var label: String
    public var score: Double

    public init(label: String, score: Double) {
        self.label = label
        self.score = score
    }
}

/// The result of classifying one frame: the winning class and the ranked top-k.
public struct Classification: Sendable, Hashable {
    /// The predicted label (the model's top-1 class).
    public var label: String
    /// Index of the predicted class in the model's output vector.
    public var classIndex: Int
    /// Probability of the predicted class, 0...1.
    public var confidence: Double
    /// Highest-scoring classes, best first (the predicted one included).
    public var top: [LabelScore]

    public init(label: String, classIndex: Int, confidence: Double, top: [LabelScore]) {
        self.label = label
        self.classIndex = classIndex
        self.confidence = confidence
        self.top = top
    }
}

/// What the bin knows about the model it runs, as reported in every event.
public struct ModelInfo: Sendable, Hashable, Codable {
    public var name: String
    /// Hex SHA-256 of the model file as loaded.
    public var sha256: String
    /// `fp32` or `int8`.
    public var precision: String

    public init(name: String, sha256: String, precision: String) {
        self.name = name
        self.sha256 = sha256
        self.precision = precision
    }
}
