/// Limited-memory BFGS with a backtracking (Armijo) line search, keeping the parameters whose validation
/// loss was lowest.
struct LBFGS {
    let settings: HeadSettings
    /// Pairs of steps and gradient changes remembered.
    let memory = 10
    private var steps: [[Double]] = []
    private var changes: [[Double]] = []

    init(settings: HeadSettings) {
        self.settings = settings
    }

    /// Minimises `objective` from `start`; `validate` gives the validation loss of parameters (nil: none).
    /// Returns the kept parameters, the iterations run and the iteration they come from.
    mutating func minimise(start: [Double], objective: ([Double], Bool) -> (loss: Double, gradient: [Double]),
                           validate: ([Double]) -> Double?) -> ([Double], Int, Int) {
        var x = start
        var (loss, gradient) = objective(x, true)
        var best = (parameters: x, loss: validate(x) ?? .infinity, iteration: 0)
        var sinceBest = 0
        var iteration = 0
        while iteration < settings.maxIterations {
            iteration += 1
            var direction = searchDirection(gradient)
            var slope = dot(gradient, direction)
            if !(slope < 0) {
                (steps, changes) = ([], [])
                direction = gradient.map { -$0 }
                slope = dot(gradient, direction)
            }
            // The first step has no curvature to scale it: move a unit length.
            var step = steps.isEmpty ? 1 / max(1, dot(direction, direction).squareRoot()) : 1
            var candidate = x, next = (loss: loss, gradient: gradient)
            var accepted = false
            for _ in 0..<40 {
                candidate = zip(x, direction).map { $0 + step * $1 }
                next = objective(candidate, true)
                if next.loss <= loss + 1e-4 * step * slope, next.loss.isFinite {
                    accepted = true
                    break
                }
                step /= 2
            }
            guard accepted else { break }
            let s = zip(candidate, x).map { $0 - $1 }, y = zip(next.gradient, gradient).map { $0 - $1 }
            if dot(s, y) > 1e-10 {
                steps.append(s)
                changes.append(y)
                if steps.count > memory { steps.removeFirst(); changes.removeFirst() }
            }
            (x, loss, gradient) = (candidate, next.loss, next.gradient)
            let converged = gradient.allSatisfy { abs($0) <= settings.tolerance }
            if iteration % settings.checkEvery == 0 || converged || iteration == settings.maxIterations,
               let validation = validate(x) {
                if validation < best.loss {
                    best = (x, validation, iteration)
                    sinceBest = 0
                } else {
                    sinceBest += 1
                    if sinceBest >= settings.patience { break }
                }
            }
            if converged { break }
        }
        if best.loss == .infinity { return (x, iteration, iteration) }
        return (best.parameters, iteration, best.iteration)
    }

    /// −H·g by the two-loop recursion, H the inverse Hessian the remembered pairs imply.
    private func searchDirection(_ gradient: [Double]) -> [Double] {
        var q = gradient
        var alphas = [Double](repeating: 0, count: steps.count)
        for i in stride(from: steps.count - 1, through: 0, by: -1) {
            let rho = 1 / dot(changes[i], steps[i])
            alphas[i] = rho * dot(steps[i], q)
            for j in q.indices { q[j] -= alphas[i] * changes[i][j] }
        }
        if let s = steps.last, let y = changes.last {
            let gamma = dot(s, y) / dot(y, y)
            for j in q.indices { q[j] *= gamma }
        }
        for i in steps.indices {
            let rho = 1 / dot(changes[i], steps[i])
            let beta = rho * dot(changes[i], q)
            for j in q.indices { q[j] += (alphas[i] - beta) * steps[i][j] }
        }
        return q.map { -$0 }
    }

    private func dot(_ a: [Double], _ b: [Double]) -> Double {
        var sum = 0.0
        for i in a.indices { sum += a[i] * b[i] }
        return sum
    }
}
