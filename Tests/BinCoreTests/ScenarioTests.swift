import BinTestKit
import Foundation
import Testing

/// Runs every `Scenarios/*.scenario` file against the state-machine driver and the fakes.
@Suite struct ScenarioTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Scenarios")

    static var scenarioNames: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".scenario") }.sorted()
    }

    @Test func atLeastSixScenariosAreShipped() {
        #expect(Self.scenarioNames.count >= 6)
    }

    @Test(arguments: scenarioNames)
    func scenarioPasses(_ name: String) throws {
        let text = try String(contentsOf: Self.directory.appendingPathComponent(name), encoding: .utf8)
        let failures = ScenarioRunner().run(text, file: name)
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    @Test func runnerReportsFailedExpectationsWithFileAndLine() {
        let failures = ScenarioRunner().run("trigger open\nexpect state idle\nbogus step\n", file: "x.scenario")
        #expect(failures.count == 2)
        #expect(failures.first?.hasPrefix("x.scenario:2: state: expected idle, got triggered") == true)
        #expect(failures.last?.hasPrefix("x.scenario:3: unknown step") == true)
    }
}
